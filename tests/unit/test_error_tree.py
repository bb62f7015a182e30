"""One error tree: every exception the ODM defines derives from OdmError and lives in
cloudant_odm.errors; the endpoint client's ApiException tree stays the SDK's shape."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import cloudant_odm
from cloudant_odm import errors
from cloudant_odm.errors import OdmError


def odm_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(cloudant_odm.__path__, "cloudant_odm."):
        if info.name.startswith(("cloudant_odm.client", "cloudant_odm.testing")):
            continue  # the SDK-shaped client tree; the pytest plugin
        if info.name in ("cloudant_odm.mypy",):
            continue  # needs mypy
        names.append(info.name)
    return names


def public_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in odm_modules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", dir(module)):
            value = getattr(module, attr, None)
            if (
                isinstance(value, type)
                and issubclass(value, Exception)
                and not issubclass(value, Warning)  # warnings are not errors
                and value.__module__.startswith("cloudant_odm")
                and not value.__module__.startswith("cloudant_odm.client")
                and not attr.startswith("_")
            ):
                found[f"{name}.{attr}"] = value
    return found


def test_every_odm_error_derives_from_odm_error_and_lives_in_one_module() -> None:
    found = public_exceptions()
    assert len(found) > 15
    for where, cls in found.items():
        assert issubclass(cls, OdmError), where
        assert cls.__module__ == "cloudant_odm.errors", where
        assert cls.__name__ in errors.__all__, where


@pytest.mark.parametrize(
    ("name", "also"),
    [
        ("DocumentDefinitionError", TypeError),
        ("DesignDefinitionError", TypeError),
        ("DocumentValidationError", ValueError),
        ("InvalidCursorError", ValueError),
        ("DoesNotExist", LookupError),
        ("MultipleObjectsReturned", LookupError),
    ],
)
def test_documented_builtin_bases_are_kept(name: str, also: type[Exception]) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, OdmError)
    assert issubclass(cls, also)


def test_old_import_paths_still_work() -> None:
    from cloudant_odm.design import DeployError
    from cloudant_odm.design.declarations import DesignDefinitionError
    from cloudant_odm.design.sync import BuildTimeoutError
    from cloudant_odm.models.errors import DocumentValidationError
    from cloudant_odm.query.errors import IndexRequiredError

    assert DeployError is errors.DeployError
    assert DesignDefinitionError is errors.DesignDefinitionError
    assert BuildTimeoutError is errors.BuildTimeoutError
    assert DocumentValidationError is errors.DocumentValidationError
    assert IndexRequiredError is errors.IndexRequiredError


def test_import_cloudant_odm_does_not_import_the_deploy_code() -> None:
    import subprocess
    import sys

    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cloudant_odm; print('\\n'.join(sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = set(printed.split())
    assert not {m for m in loaded if m.startswith("cloudant_odm.design")}  # sync, the deploy
    assert "cloudant_odm.cli" not in loaded
    assert "cloudant_odm.schema.declarations" in loaded  # View, Index ... are declared


def test_distinct_concepts_have_distinct_names_and_the_old_names_still_work() -> None:
    from cloudant_odm import changes, client, design
    from cloudant_odm.schema import generate

    assert changes.Change is changes.DocumentChange
    assert design.Change is design.DeployChange
    assert generate.DesignDocument is generate.GeneratedDesignDocument
    names = {changes.DocumentChange, design.DeployChange, client.Change}
    assert len({cls.__name__ for cls in names}) == 3
    assert client.DesignDocument is not generate.GeneratedDesignDocument
