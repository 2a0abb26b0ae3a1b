# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Start-up speed: botocore sessions whose model loading skips work a keyguard.aws task never needs.

Nothing here changes what a client does, only how fast it is built (see docs/NOTES.md, issue 6) and how fast it
reads timestamps. The loader relies on botocore's Loader internals, so it is used only with the botocore releases it
was checked against; with any other, sessions use botocore's own loader.
"""

from __future__ import annotations

import datetime
import gc
import gzip
import json
import os
import re
import typing as t

try:
    import botocore
    import botocore.config
    import botocore.exceptions
    import botocore.loaders
    import botocore.session
    import botocore.utils

    HAS_BOTOCORE = True
except ImportError:  # pragma: no cover - the client factory reports the missing SDK
    HAS_BOTOCORE = False

# The services keyguard.aws calls, and so the only ones a client is ever built for (sts also for assumed roles).
SERVICES = ("iam", "sts", "secretsmanager", "ssm", "organizations")
# botocore releases (major, minor), inclusive, whose Loader this file was checked against.
CHECKED_BOTOCORE_RELEASES = ((1, 34), (1, 44))


def botocore_release(version: str) -> tuple[int, int]:
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    return major, minor


def speedups_apply(version: str) -> bool:
    """Whether this botocore release is one the loader below was checked against."""
    oldest, newest = CHECKED_BOTOCORE_RELEASES
    try:
        return oldest <= botocore_release(version) <= newest
    except ValueError:
        return False


if HAS_BOTOCORE:

    class ModelFileLoader(botocore.loaders.JSONFileLoader):
        """Reads botocore's data files (``<path>.json``, else ``<path>.json.gz``) into plain dicts.

        botocore builds an OrderedDict for every JSON object, which doubles the parse time; plain
        dicts keep their order too. endpoints.json, which every new process parses to build its first
        client, is over 1 MB.
        """

        def load_file(self, file_path: str) -> t.Any:
            for suffix, open_file in ((".json", open), (".json.gz", gzip.open)):
                if os.path.isfile(file_path + suffix):
                    with open_file(file_path + suffix, "rb") as stream:
                        return json.loads(stream.read().decode("utf-8"))
            return None

    class ServiceDataLoader(botocore.loaders.Loader):
        """botocore's data loader, knowing which services keyguard.aws asks for.

        botocore checks that a service exists by listing every service directory it ships (over 400),
        once for each kind of model a client loads; that was most of the time it took to build a
        client. Here only the directories of SERVICES are looked at, and files are parsed by
        ModelFileLoader. Everything else is botocore's own code.
        """

        FILE_LOADER_CLASS = ModelFileLoader

        def list_available_services(self, type_name: str) -> list[str]:
            available = []
            for service in SERVICES:
                try:
                    self.list_api_versions(service, type_name)
                except botocore.exceptions.DataNotFoundError:
                    continue
                available.append(service)
            return available


# One loader (and so one copy of the parsed models) per AWS_DATA_PATH for the life of the process.
_DATA_LOADERS: dict[str | None, t.Any] = {}


def data_loader(data_path: str | None) -> t.Any:
    """The process's ServiceDataLoader for ``data_path`` (botocore's ``data_path`` setting, AWS_DATA_PATH)."""
    loader = _DATA_LOADERS.get(data_path)
    if loader is None:
        extra_paths = [os.path.expanduser(os.path.expandvars(path)) for path in (data_path or "").split(os.pathsep)]
        loader = _DATA_LOADERS[data_path] = ServiceDataLoader(extra_search_paths=[path for path in extra_paths if path])
    return loader


# What IAM and STS answer: 2026-12-07T23:27:10Z, sometimes with a fraction of a second or a +00:00 offset.
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")


def parse_timestamp(value: t.Any) -> datetime.datetime:
    """botocore's timestamp parser, without dateutil for the ISO 8601 form the services answer with.

    botocore hands every timestamp of a response to dateutil's general parser, which tries many formats: about a
    tenth of a ListAccessKeys call's CPU. The same instant comes out (UTC as ``datetime.timezone.utc``); any other
    form goes to botocore's own parser.
    """
    if isinstance(value, str) and _ISO_TIMESTAMP.fullmatch(value):
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        if "." in text:  # fromisoformat before Python 3.11 takes a fraction of 3 or 6 digits only
            date, rest = text.split(".", 1)
            fraction, offset = rest[:-6], rest[-6:]
            text = f"{date}.{fraction.ljust(6, '0')}{offset}"
        parsed = datetime.datetime.fromisoformat(text)
        return parsed.astimezone(datetime.timezone.utc) if parsed.utcoffset() == datetime.timedelta(0) else parsed
    return botocore.utils.parse_timestamp(value)


def new_session(profile: str | None = None) -> t.Any:
    """A botocore session; on a checked botocore release it builds its clients from the process's loader. Its
    clients parse timestamps with ``parse_timestamp`` (botocore's public parser setting)."""
    session = botocore.session.Session(profile=profile)
    if speedups_apply(botocore.__version__):
        session.register_component("data_loader", data_loader(session.get_config_variable("data_path")))
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    return session


def warm_up() -> None:
    """Load what building an IAM client needs (lazy botocore imports, parsed models) into this process.

    Worker processes forked from it afterwards build their clients in milliseconds.
    """
    if not HAS_BOTOCORE:
        return
    try:
        client = new_session().create_client(
            "iam",
            region_name="us-east-1",
            # No credentials are looked up for an unsigned client; it makes no call anyway.
            config=botocore.config.Config(signature_version=botocore.UNSIGNED),
        )
        client.get_paginator("list_access_keys")
    except botocore.exceptions.BotoCoreError:
        pass  # e.g. an unreadable AWS config file: the task that uses it will say so


def tune_module_process() -> None:
    """Called first by a module's main(): a module process runs one task, then exits.

    With Python's default thresholds, a full collection over every object the imports made runs
    while botocore parses its models: about a tenth of a no-op task's module time. Collect rarely.
    """
    gc.set_threshold(50_000, 20, 100)
