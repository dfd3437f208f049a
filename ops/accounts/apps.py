from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ops.accounts"
    label = "accounts"
    verbose_name = "Cuentas"

    def ready(self) -> None:
        from ops.accounts import signals  # noqa: F401
