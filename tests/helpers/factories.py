from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from cedula.models import CedulaInfo, Priority, Source, Status
from ops.accounts.models import User


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"persona{n}@example.com")
    cedula = None
    password = factory.PostGenerationMethodCall("set_password", "clave-segura-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class CedulaInfoFactory(DjangoModelFactory):
    class Meta:
        model = CedulaInfo

    cedula = factory.Sequence(lambda n: str(70_000_000 + n))
    status = Status.PENDING
    source = Source.ADMIN
    priority = Priority.BULK
