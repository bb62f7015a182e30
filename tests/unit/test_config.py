"""External configuration: sources and their precedence, prefixes, VCAP, authenticators."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import pytest

from cloudant_odm.client.auth import (
    BasicAuthenticator,
    BearerTokenAuthenticator,
    ContainerAuthenticator,
    CouchDbSessionAuthenticator,
    IAMAuthenticator,
    NoAuthAuthenticator,
    VPCInstanceAuthenticator,
)
from cloudant_odm.client.config import (
    ServiceConfig,
    get_authenticator_from_environment,
    read_external_sources,
    service_config,
)

SECRET = "Sup3r-secret-value"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean slate: no service variables, an empty working directory and home."""
    for name in list(os.environ):
        if name.startswith(("CLOUDANT", "MY_SVC", "OTHER")) or name in (
            "VCAP_SERVICES",
            "IBM_CREDENTIALS_FILE",
        ):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    home = tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    return monkeypatch


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def vcap(env: pytest.MonkeyPatch, services: dict[str, Any]) -> None:
    env.setenv("VCAP_SERVICES", json.dumps(services))


# -- sources and precedence -----------------------------------------------------------


def test_nothing_configured(env: pytest.MonkeyPatch) -> None:
    assert read_external_sources("cloudant") == {}
    assert get_authenticator_from_environment("cloudant") is None
    assert service_config("cloudant") == ServiceConfig()


def test_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("CLOUDANT_URL", "https://example.test")
    env.setenv("CLOUDANT_APIKEY", "key")
    env.setenv("OTHER_URL", "https://other.test")
    assert read_external_sources("cloudant") == {"URL": "https://example.test", "APIKEY": "key"}


def test_credentials_file_beats_environment_and_is_not_merged(env: pytest.MonkeyPatch) -> None:
    write(Path.cwd() / "ibm-credentials.env", "CLOUDANT_URL=https://file.test")
    env.setenv("CLOUDANT_URL", "https://env.test")
    env.setenv("CLOUDANT_APIKEY", "from-env")
    assert read_external_sources("cloudant") == {"URL": "https://file.test"}


def test_environment_beats_vcap_and_is_not_merged(env: pytest.MonkeyPatch) -> None:
    vcap(
        env,
        {
            "cloudantNoSQLDB": [
                {
                    "name": "cloudant",
                    "credentials": {"apikey": "vcap-key", "url": "https://vcap.test"},
                }
            ]
        },
    )
    env.setenv("CLOUDANT_AUTH_TYPE", "noauth")
    assert read_external_sources("cloudant") == {"AUTH_TYPE": "noauth"}


def test_file_for_another_service_does_not_hide_environment(env: pytest.MonkeyPatch) -> None:
    write(Path.cwd() / "ibm-credentials.env", "OTHER_URL=https://file.test")
    env.setenv("CLOUDANT_URL", "https://env.test")
    assert read_external_sources("cloudant") == {"URL": "https://env.test"}


def test_credentials_file_search_order(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home_file = write(Path.home() / "ibm-credentials.env", "CLOUDANT_URL=https://home.test")
    assert read_external_sources("cloudant") == {"URL": "https://home.test"}

    write(Path.cwd() / "ibm-credentials.env", "CLOUDANT_URL=https://cwd.test")
    assert read_external_sources("cloudant") == {"URL": "https://cwd.test"}

    explicit = write(tmp_path / "creds.env", "CLOUDANT_URL=https://explicit.test")
    env.setenv("IBM_CREDENTIALS_FILE", str(explicit))
    assert read_external_sources("cloudant") == {"URL": "https://explicit.test"}

    # An explicit file that can't be read is the only file consulted: fall to the env.
    env.setenv("IBM_CREDENTIALS_FILE", str(tmp_path / "missing.env"))
    env.setenv("CLOUDANT_URL", "https://env.test")
    assert read_external_sources("cloudant") == {"URL": "https://env.test"}
    assert home_file.exists()


def test_credentials_file_format(env: pytest.MonkeyPatch) -> None:
    write(
        Path.cwd() / "ibm-credentials.env",
        "# a comment",
        "",
        "  CLOUDANT_URL = https://file.test  ",
        "CLOUDANT_PASSWORD=a=b=c",
        "CLOUDANT_NOVALUE",
        "OTHER_APIKEY=x",
    )
    assert read_external_sources("cloudant") == {"URL": "https://file.test", "PASSWORD": "a=b=c"}


@pytest.mark.parametrize("name", ["my-svc", "my svc", "My-Svc", "MY_SVC"])
def test_prefix_rule_for_custom_service_name(env: pytest.MonkeyPatch, name: str) -> None:
    env.setenv("MY_SVC_URL", "https://mine.test")
    env.setenv("MY_SVC_AUTH_TYPE", "basic")
    env.setenv("MY_SVCX_URL", "https://not-mine.test")
    env.setenv("CLOUDANT_URL", "https://cloudant.test")
    assert read_external_sources(name) == {"URL": "https://mine.test", "AUTH_TYPE": "basic"}


# -- VCAP_SERVICES --------------------------------------------------------------------


def test_vcap_by_entry_name_keeps_url(env: pytest.MonkeyPatch) -> None:
    vcap(
        env,
        {
            "cloudantNoSQLDB": [
                {"name": "other", "credentials": {"apikey": "wrong", "url": "https://wrong.test"}},
                {
                    "name": "cloudant",
                    "credentials": {
                        "apikey": "k1",
                        "url": "https://right.test",
                        "host": "right.test",
                    },
                },
            ],
        },
    )
    assert read_external_sources("cloudant") == {
        "AUTH_TYPE": "iam",
        "APIKEY": "k1",
        "URL": "https://right.test",
    }


def test_vcap_by_service_key_first_entry(env: pytest.MonkeyPatch) -> None:
    vcap(
        env,
        {
            "my-db": [
                {
                    "name": "a",
                    "credentials": {"username": "u", "password": "p", "url": "https://a.test"},
                },
                {"name": "b", "credentials": {"username": "v", "password": "q"}},
            ],
        },
    )
    assert read_external_sources("my-db") == {
        "AUTH_TYPE": "basic",
        "USERNAME": "u",
        "PASSWORD": "p",
        "URL": "https://a.test",
    }
    assert read_external_sources("nothing-here") == {}


def test_vcap_name_beats_key(env: pytest.MonkeyPatch) -> None:
    vcap(
        env,
        {
            "cloudant": [{"name": "x", "credentials": {"apikey": "by-key"}}],
            "cloudantNoSQLDB": [{"name": "cloudant", "credentials": {"iam_apikey": "by-name"}}],
        },
    )
    assert read_external_sources("cloudant") == {"AUTH_TYPE": "iam", "APIKEY": "by-name"}


def test_vcap_basic_wins_over_apikey(env: pytest.MonkeyPatch) -> None:
    vcap(env, {"cloudant": [{"credentials": {"username": "u", "password": "p", "apikey": "k"}}]})
    config = read_external_sources("cloudant")
    assert config["AUTH_TYPE"] == "basic"
    assert "APIKEY" not in config


def test_vcap_builds_authenticator(env: pytest.MonkeyPatch) -> None:
    vcap(
        env,
        {
            "cloudantNoSQLDB": [
                {
                    "name": "cloudant",
                    "credentials": {
                        "iam_apikey": "k1",
                        "url": "https://acct.cloudantnosqldb.appdomain.cloud",
                    },
                }
            ]
        },
    )
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, IAMAuthenticator)
    assert auth.token_manager.apikey == "k1"
    assert service_config("cloudant").url == "https://acct.cloudantnosqldb.appdomain.cloud"


def test_vcap_invalid_json(env: pytest.MonkeyPatch) -> None:
    env.setenv("VCAP_SERVICES", "{not json")
    with pytest.raises(ValueError, match="VCAP_SERVICES"):
        read_external_sources("cloudant")


# -- authenticators -------------------------------------------------------------------


def configure(env: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        env.setenv(f"CLOUDANT_{key}", value)


def test_basic(env: pytest.MonkeyPatch) -> None:
    configure(env, AUTH_TYPE="basic", USERNAME="bob", PASSWORD=SECRET)
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, BasicAuthenticator)
    assert (auth.username, auth.password) == ("bob", SECRET)


def test_bearer_token(env: pytest.MonkeyPatch) -> None:
    configure(env, AUTH_TYPE="bearerToken", BEARER_TOKEN="tok")
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, BearerTokenAuthenticator)
    assert auth.bearer_token == "tok"


def test_noauth(env: pytest.MonkeyPatch) -> None:
    configure(env, AUTH_TYPE="noAuth")
    assert isinstance(get_authenticator_from_environment("cloudant"), NoAuthAuthenticator)


def test_iam_with_every_key(env: pytest.MonkeyPatch) -> None:
    configure(
        env,
        AUTH_TYPE="iam",
        APIKEY="k",
        AUTH_URL="https://iam.test/identity/token",
        CLIENT_ID="cid",
        CLIENT_SECRET="cs",
        AUTH_DISABLE_SSL="true",
        SCOPE="s1 s2",
    )
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, IAMAuthenticator)
    manager = auth.token_manager
    assert manager.apikey == "k"
    assert manager.url == "https://iam.test"
    assert (manager.client_id, manager.client_secret) == ("cid", "cs")
    assert manager.disable_ssl_verification is True
    assert manager.scope == "s1 s2"


def test_container_with_every_key(env: pytest.MonkeyPatch) -> None:
    configure(
        env,
        AUTH_TYPE="container",
        CR_TOKEN_FILENAME="/tmp/cr",
        IAM_PROFILE_NAME="pn",
        IAM_PROFILE_ID="pid",
        AUTH_URL="https://iam.test",
        CLIENT_ID="cid",
        CLIENT_SECRET="cs",
        AUTH_DISABLE_SSL="false",
        SCOPE="sc",
    )
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, ContainerAuthenticator)
    manager = auth.token_manager
    assert manager.cr_token_filename == "/tmp/cr"
    assert (manager.iam_profile_name, manager.iam_profile_id) == ("pn", "pid")
    assert manager.url == "https://iam.test"
    assert (manager.client_id, manager.client_secret, manager.scope) == ("cid", "cs", "sc")
    assert manager.disable_ssl_verification is False


def test_vpc_with_every_key(env: pytest.MonkeyPatch) -> None:
    configure(
        env,
        AUTH_TYPE="vpc",
        IAM_PROFILE_CRN="crn:1",
        AUTH_URL="http://ims.test",
        VPC_IMS_VERSION="2025-08-26",
    )
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, VPCInstanceAuthenticator)
    manager = auth.token_manager
    assert manager.iam_profile_crn == "crn:1"
    assert manager.url == "http://ims.test"
    assert manager.service_version == "2025-08-26"


def test_vpc_defaults(env: pytest.MonkeyPatch) -> None:
    configure(env, AUTH_TYPE="VPC")
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, VPCInstanceAuthenticator)
    assert auth.token_manager.service_version == "2022-03-01"
    assert auth.token_manager.url == "http://169.254.169.254"


def test_couchdb_session_uses_disable_ssl(env: pytest.MonkeyPatch) -> None:
    configure(env, AUTH_TYPE="COUCHDB_SESSION", USERNAME="u", PASSWORD="p", DISABLE_SSL="true")
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, CouchDbSessionAuthenticator)
    assert auth.username == "u"
    assert auth.token_manager.disable_ssl_verification is True


def test_couchdb_session_ignores_auth_disable_ssl(env: pytest.MonkeyPatch) -> None:
    configure(env, AUTH_TYPE="couchdb_session", USERNAME="u", PASSWORD="", AUTH_DISABLE_SSL="true")
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, CouchDbSessionAuthenticator)
    assert auth.token_manager.disable_ssl_verification is False
    assert auth.token_manager.password == ""


@pytest.mark.parametrize(
    ("key", "value", "cls"),
    [
        ("AUTH_TYPE", "BASIC", BasicAuthenticator),
        ("AUTHTYPE", "basic", BasicAuthenticator),
        ("AUTH_TYPE", "Couchdb_Session", CouchDbSessionAuthenticator),
        ("AUTHTYPE", "bearertoken", BearerTokenAuthenticator),
        ("AUTH_TYPE", "NOAUTH", NoAuthAuthenticator),
    ],
)
def test_auth_type_is_case_insensitive_with_alias(
    env: pytest.MonkeyPatch, key: str, value: str, cls: type[Any]
) -> None:
    configure(env, USERNAME="u", PASSWORD="p", BEARER_TOKEN="t", **{key: value})
    assert isinstance(get_authenticator_from_environment("cloudant"), cls)


def test_default_is_iam_with_apikey(env: pytest.MonkeyPatch) -> None:
    configure(env, APIKEY="k", URL="https://x.test")
    assert isinstance(get_authenticator_from_environment("cloudant"), IAMAuthenticator)


def test_default_is_container_without_apikey(env: pytest.MonkeyPatch) -> None:
    configure(env, IAM_PROFILE_ID="pid")
    assert isinstance(get_authenticator_from_environment("cloudant"), ContainerAuthenticator)


def test_only_service_keys_means_no_authenticator(env: pytest.MonkeyPatch) -> None:
    configure(env, URL="https://x.test", ENABLE_GZIP="false")
    assert get_authenticator_from_environment("cloudant") is None


def test_default_container_without_profile_names_the_variables(env: pytest.MonkeyPatch) -> None:
    configure(env, USERNAME="u", PASSWORD=SECRET)
    with pytest.raises(ValueError, match="CLOUDANT_IAM_PROFILE_NAME") as info:
        get_authenticator_from_environment("cloudant")
    assert "CLOUDANT_AUTH_TYPE" in str(info.value)
    assert SECRET not in str(info.value)


def test_custom_service_name_builds_authenticator(env: pytest.MonkeyPatch) -> None:
    env.setenv("MY_SVC_AUTH_TYPE", "basic")
    env.setenv("MY_SVC_USERNAME", "mine")
    env.setenv("MY_SVC_PASSWORD", "p")
    configure(env, AUTH_TYPE="noauth")
    auth = get_authenticator_from_environment("my-svc")
    assert isinstance(auth, BasicAuthenticator)
    assert auth.username == "mine"


# -- bad values -----------------------------------------------------------------------


def test_unknown_auth_type(env: pytest.MonkeyPatch) -> None:
    configure(env, AUTH_TYPE="kerberos")
    with pytest.raises(ValueError, match="CLOUDANT_AUTH_TYPE='kerberos'"):
        get_authenticator_from_environment("cloudant")


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"AUTH_TYPE": "iam"}, "CLOUDANT_APIKEY"),
        ({"AUTH_TYPE": "basic", "USERNAME": "u"}, "CLOUDANT_PASSWORD"),
        ({"AUTH_TYPE": "basic", "PASSWORD": SECRET}, "CLOUDANT_USERNAME"),
        ({"AUTH_TYPE": "bearerToken"}, "CLOUDANT_BEARER_TOKEN"),
        ({"AUTH_TYPE": "COUCHDB_SESSION", "PASSWORD": SECRET}, "CLOUDANT_USERNAME"),
        (
            {"AUTH_TYPE": "iam", "APIKEY": "k", "AUTH_DISABLE_SSL": "maybe"},
            "CLOUDANT_AUTH_DISABLE_SSL",
        ),
        (
            {
                "AUTH_TYPE": "COUCHDB_SESSION",
                "USERNAME": "u",
                "PASSWORD": "p",
                "DISABLE_SSL": "sometimes",
            },
            "CLOUDANT_DISABLE_SSL",
        ),
    ],
)
def test_missing_or_bad_auth_values_name_the_variable(
    env: pytest.MonkeyPatch, values: dict[str, str], variable: str
) -> None:
    configure(env, **values)
    with pytest.raises(ValueError, match=variable) as info:
        get_authenticator_from_environment("cloudant")
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "values",
    [
        {"AUTH_TYPE": "iam", "APIKEY": "{" + SECRET + "}"},
        {"AUTH_TYPE": "basic", "USERNAME": "u", "PASSWORD": '"' + SECRET + '"'},
        {"AUTH_TYPE": "iam", "APIKEY": "k", "CLIENT_SECRET": SECRET},
    ],
)
def test_invalid_credentials_never_echo_secrets(
    env: pytest.MonkeyPatch, values: dict[str, str]
) -> None:
    configure(env, **values)
    with pytest.raises(ValueError, match="CLOUDANT_") as info:
        get_authenticator_from_environment("cloudant")
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.__cause__)


# -- ServiceConfig --------------------------------------------------------------------


def test_service_config_values(env: pytest.MonkeyPatch) -> None:
    configure(
        env,
        URL="https://x.test",
        DISABLE_SSL="TRUE",
        ENABLE_GZIP="false",
        ENABLE_RETRIES="true",
        MAX_RETRIES="7",
        RETRY_INTERVAL="2.5",
    )
    assert service_config("cloudant") == ServiceConfig(
        url="https://x.test",
        disable_ssl=True,
        enable_gzip=False,
        enable_retries=True,
        max_retries=7,
        retry_interval=2.5,
    )


def test_service_config_defaults_are_unset(env: pytest.MonkeyPatch) -> None:
    configure(env, APIKEY="k")
    config = service_config("cloudant")
    assert config == ServiceConfig()
    assert config.url is None
    assert config.enable_gzip is None
    assert config.max_retries is None


def test_service_config_is_frozen() -> None:
    config = ServiceConfig.from_config({"URL": "https://x.test"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.url = "https://y.test"  # type: ignore[misc]


def test_service_config_from_file(env: pytest.MonkeyPatch) -> None:
    write(
        Path.cwd() / "ibm-credentials.env", "MY_SVC_URL=https://file.test", "MY_SVC_MAX_RETRIES=2"
    )
    config = service_config("my-svc")
    assert (config.url, config.max_retries) == ("https://file.test", 2)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MAX_RETRIES", "abc"),
        ("MAX_RETRIES", "-1"),
        ("MAX_RETRIES", "2.5"),
        ("RETRY_INTERVAL", "soon"),
        ("RETRY_INTERVAL", "-1"),
        ("RETRY_INTERVAL", "nan"),
        ("ENABLE_GZIP", "maybe"),
        ("ENABLE_RETRIES", "2"),
        ("DISABLE_SSL", "yes please"),
    ],
)
def test_service_config_bad_values_name_the_variable(
    env: pytest.MonkeyPatch, key: str, value: str
) -> None:
    env.setenv(f"MY_SVC_{key}", value)
    with pytest.raises(ValueError, match=f"MY_SVC_{key}"):
        service_config("my-svc")


def test_empty_password_is_allowed_but_empty_apikey_is_not(env: pytest.MonkeyPatch) -> None:
    configure(env, AUTH_TYPE="basic", USERNAME="u", PASSWORD="")
    auth = get_authenticator_from_environment("cloudant")
    assert isinstance(auth, BasicAuthenticator)
    assert auth.password == ""
    configure(env, AUTH_TYPE="iam", APIKEY="")
    with pytest.raises(ValueError, match="CLOUDANT_APIKEY must be set"):
        get_authenticator_from_environment("cloudant")


@pytest.mark.filterwarnings("ignore:TLS certificate verification is disabled")
def test_new_instance_reports_disable_ssl_as_the_sdk(env: pytest.MonkeyPatch) -> None:
    from cloudant_odm.client import CloudantV1

    configure(env, URL="https://couch.test", AUTH_TYPE="noauth")
    assert CloudantV1.new_instance().disable_ssl_verification is False
    configure(env, AUTH_TYPE="COUCHDB_SESSION", USERNAME="u", PASSWORD="p", DISABLE_SSL="true")
    service = CloudantV1.new_instance()
    assert service.disable_ssl_verification is True
    assert isinstance(service.authenticator, CouchDbSessionAuthenticator)
    assert service.authenticator.token_manager.disable_ssl_verification is True
    service.set_disable_ssl_verification(False)
    assert service.disable_ssl_verification is False


def test_new_instance_without_configuration_names_what_to_set(env: pytest.MonkeyPatch) -> None:
    from cloudant_odm.client import CloudantV1

    with pytest.raises(ValueError, match=r"^authenticator must be provided: .*BILLING_URL"):
        CloudantV1.new_instance("billing")
