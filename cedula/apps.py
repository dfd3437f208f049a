from django.apps import AppConfig


class CedulaConfig(AppConfig):
    name = "cedula"
    verbose_name = "Cédulas"

    def ready(self) -> None:
        from cedula import signals  # noqa: F401
