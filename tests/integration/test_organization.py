# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An AWS Organization in moto (issue 13): the keyguard.aws.aws_accounts inventory as ``ansible-inventory`` lists it,
and playbooks/audit_organization.yml run as shipped against its ten member accounts.

The ``organization`` fixture builds the organization straight on moto (not through the proxy): units
Root > prod > payments, Root > dev, Root > sandbox, ten accounts spread over them, and in each account, acting as its
OrganizationAccountAccessRole, users whose keys are old, unused, never used, doubled or Inactive (moto's clock moves
120 days while they are made). The playbook reaches moto through the recording proxy (the harness's
AWS_ENDPOINT_URL), which can refuse one account's sts:AssumeRole. Every report is checked against what boto3 reads
from each account's IAM after the run.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import html.parser
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import ansible_env  # tests/tools, loaded by the conftest files
import boto3
import botocore.config
import iam_proxy
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO_ROOT / "playbooks" / "audit_organization.yml"
ANSIBLE_BIN_DIR = Path(sys.executable).parent
MANAGEMENT_ACCOUNT = "123456789012"
ROLE = "OrganizationAccountAccessRole"
UTC = datetime.timezone.utc
# Every call an audit run makes, as the README and the playbook document the permissions it needs.
AUDIT_PERMISSIONS = frozenset(
    {
        "ListRoots",  # organizations:, for the inventory
        "ListAccountsForParent",
        "ListOrganizationalUnitsForParent",
        "AssumeRole",  # sts:
        "GetAccountAuthorizationDetails",  # iam:, as each account's audit role
        "ListAccessKeys",
        "GenerateCredentialReport",
        "GetCredentialReport",
        "GetAccessKeyLastUsed",
    }
)

_SESSION: list[boto3.session.Session] = []  # one per process: a client from a fresh session costs ~100 ms


def client(
    service: str, endpoint_url: str, access_key: str = "testing", secret_key: str = "testing", session_token=None
):
    """A boto3 client straight to ``endpoint_url`` (us-east-1; moto's dummy credentials unless given)."""
    if not _SESSION:
        _SESSION.append(boto3.session.Session(region_name="us-east-1"))
    return _SESSION[0].client(
        service,
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
        config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


# The units (name: parent unit, None for the root) and the accounts (name: unit), in creation order.
UNITS = {"prod": None, "payments": "prod", "dev": None, "sandbox": None}
ACCOUNTS = {
    "shared": None,
    "web": "prod",
    "api": "prod",
    "cards": "payments",
    "ledger": "payments",
    "build": "dev",
    "qa": "dev",
    "lab": "sandbox",
    "logs": None,
    "security": None,
}

# Key kinds: (day created, day last used or None for never, final status). The audit runs on day 120.
KINDS = {
    "old_used": (0, 119, "Active"),  # 120 days old, used yesterday: not rotated (1.14)
    "old_never": (0, None, "Active"),  # never used in 120 days: unused (1.12) and not rotated (1.14)
    "old_inactive": (0, None, "Inactive"),  # Inactive keys have no findings
    "mid_never": (60, None, "Active"),  # never used in 60 days: unused
    "mid_stale": (60, 65, "Active"),  # last used 55 days ago: unused
    "new_never": (110, None, "Active"),  # 10 days old: fine
    "new_used": (110, 119, "Active"),
    "new_inactive": (110, None, "Inactive"),
}
AUDIT_DAY = 120
FINDINGS_OF_KIND = {
    "old_used": {"1.14"},
    "old_never": {"1.12", "1.14"},
    "mid_never": {"1.12"},
    "mid_stale": {"1.12"},
}
# User templates: name, kinds of its keys. A user with two Active keys also breaks 1.13 with each of them.
USERS = [
    ("deploy", ["new_used"]),
    ("ci", ["old_used", "new_used"]),
    ("backup", ["old_never"]),
    ("reporting,weekly", ["mid_stale"]),  # a comma, which the CSV must quote
    ("legacy", ["old_inactive", "new_never"]),
    ("batch", ["mid_never", "new_inactive"]),
    ("=admin", ["new_never", "mid_never"]),  # a name a spreadsheet would run as a formula
    ("nokeys", []),
]


@dataclasses.dataclass
class Key:
    account: str
    user_name: str
    kind: str
    access_key_id: str
    secret: str  # test data only: signs the "use" of the key
    expected: set[str] = dataclasses.field(default_factory=set)  # CIS controls the audit must report


@dataclasses.dataclass
class Organization:
    moto_url: str
    root_id: str
    unit_ids: dict[str, str]
    account_ids: dict[str, str]  # name -> id
    emails: dict[str, str]
    keys: list[Key]

    def role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_ids[name]}:role/{ROLE}"

    def iam(self, name: str):
        """boto3 IAM of account ``name``, as its OrganizationAccountAccessRole (straight to moto)."""
        sts = client("sts", self.moto_url)
        credentials = sts.assume_role(RoleArn=self.role_arn(name), RoleSessionName="test-organization")["Credentials"]
        return client(
            "iam",
            self.moto_url,
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
        )

    def unit_path(self, name: str) -> list[str]:
        path, unit = [], ACCOUNTS[name]
        while unit is not None:
            path.insert(0, unit)
            unit = UNITS[unit]
        return ["Root", *path]


def users_of(index: int) -> list[tuple[str, list[str]]]:
    """Account ``index``'s users: 0 to 4 of the templates, from a different place in the list for each account."""
    return [(f"{name}-{index}", kinds) for name, kinds in (USERS[(index + j) % len(USERS)] for j in range(index % 5))]


@pytest.fixture
def organization(moto) -> Organization:
    org = client("organizations", moto.url)
    org.create_organization(FeatureSet="ALL")
    root_id = org.list_roots()["Roots"][0]["Id"]
    unit_ids: dict[str, str] = {}
    for name, parent in UNITS.items():
        parent_id = unit_ids[parent] if parent else root_id
        unit_ids[name] = org.create_organizational_unit(ParentId=parent_id, Name=name)["OrganizationalUnit"]["Id"]
    account_ids, emails = {}, {}
    for name, unit in ACCOUNTS.items():
        emails[name] = f"aws+{name}@example.com"
        status = org.create_account(AccountName=name, Email=emails[name])["CreateAccountStatus"]
        account_ids[name] = status["AccountId"]
        if unit:
            org.move_account(AccountId=status["AccountId"], SourceParentId=root_id, DestinationParentId=unit_ids[unit])
    organization = Organization(moto.url, root_id, unit_ids, account_ids, emails, keys=[])

    clients = {name: organization.iam(name) for name in ACCOUNTS}
    planned = []  # (account, user, kind)
    for index, name in enumerate(ACCOUNTS):
        for user_name, kinds in users_of(index):
            clients[name].create_user(UserName=user_name)
            planned += [(name, user_name, kind) for kind in kinds]
    start = moto.now()
    for day in sorted({day for kind in KINDS.values() for day in kind[:2] if day is not None}):
        moto.set_time(start + datetime.timedelta(days=day))
        for account, user_name, kind in planned:
            created, _used, status = KINDS[kind]
            if created == day:
                made = clients[account].create_access_key(UserName=user_name)["AccessKey"]
                organization.keys.append(Key(account, user_name, kind, made["AccessKeyId"], made["SecretAccessKey"]))
                if status == "Inactive":
                    clients[account].update_access_key(
                        UserName=user_name, AccessKeyId=made["AccessKeyId"], Status="Inactive"
                    )
        for key in organization.keys:
            if KINDS[key.kind][1] == day:  # sign a request with the key: IAM records its last use
                client("iam", moto.url, key.access_key_id, key.secret).list_access_keys(UserName=key.user_name)
    moto.set_time(start + datetime.timedelta(days=AUDIT_DAY, minutes=5))

    for key in organization.keys:
        key.expected = set(FINDINGS_OF_KIND.get(key.kind, set()))
        same_user = [k for k in organization.keys if (k.account, k.user_name) == (key.account, key.user_name)]
        if KINDS[key.kind][2] == "Active" and sum(KINDS[k.kind][2] == "Active" for k in same_user) > 1:
            key.expected.add("1.13")
    return organization


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def write_inventory(directory: Path, name: str, options: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.aws_accounts.yml"
    path.write_text(yaml.safe_dump({"plugin": "keyguard.aws.aws_accounts", **options}), encoding="utf-8")
    return path


def ansible_inventory(tmp_path: Path, endpoint_url: str, inventory: Path, *extra_args: str) -> dict[str, Any]:
    """``ansible-inventory -i <inventory> --list`` with the harness's environment (modules and plugins at the proxy)."""
    completed = run_ansible_inventory(tmp_path, endpoint_url, inventory, *extra_args)
    assert completed.returncode == 0, completed.stderr
    return plain(json.loads(completed.stdout))


def run_ansible_inventory(
    tmp_path: Path, endpoint_url: str, inventory: Path, *extra_args: str
) -> subprocess.CompletedProcess:
    workdir = tmp_path / f"ansible-inventory-{inventory.stem}"
    workdir.mkdir(exist_ok=True)
    env = ansible_env.playbook_environment(
        workdir, ANSIBLE_BIN_DIR, [ansible_env.COLLECTIONS_ROOT], endpoint_url, workdir / "results.jsonl"
    )
    env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "True"
    return subprocess.run(
        [str(ANSIBLE_BIN_DIR / "ansible-inventory"), "-i", str(inventory), "--list", *extra_args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def plain(value: Any) -> Any:
    """The listing without ansible-core 2.19's markers of values from outside (``{"__ansible_unsafe": value}``): the
    plugin's values are not trusted as templates, which is right for names that come from the Organizations API."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def group_hosts(listing: dict[str, Any], group: str) -> set[str]:
    """The hosts of ``group`` and of its child groups, recursively, as ``ansible-inventory --list`` shows them."""
    entry = listing.get(group, {})
    hosts = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts |= group_hosts(listing, child)
    return hosts


def iam_keys(organization: Organization, name: str) -> dict[str, dict[str, Any]]:
    """Every key of account ``name`` as its IAM has them now, with the last use IAM records for it."""
    iam = organization.iam(name)
    found = {}
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            for key in iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]:
                last_used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
                found[key["AccessKeyId"]] = {
                    "user_name": key["UserName"],
                    "status": key["Status"],
                    "create_date": key["CreateDate"].astimezone(UTC),
                    "last_used_date": last_used.get("LastUsedDate"),
                    # IAM says N/A for a key never used; the module says null.
                    "last_used_service": None if last_used.get("ServiceName") == "N/A" else last_used["ServiceName"],
                    "last_used_region": None if last_used.get("Region") == "N/A" else last_used["Region"],
                }
    return found


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def parse_time(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC) if value else None


def assert_account_report(organization: Organization, name: str, report_keys: list[dict], exact_last_use: bool):
    """The report's keys of account ``name`` are the keys its IAM holds, with the findings the test gave them."""
    in_iam = iam_keys(organization, name)
    reported = {key["access_key_id"]: key for key in report_keys if key["account_id"] == organization.account_ids[name]}
    assert set(reported) == set(in_iam), name
    made = {key.access_key_id: key for key in organization.keys if key.account == name}
    assert set(made) == set(in_iam), name  # the audit changed nothing
    for key_id, iam_key in in_iam.items():
        key = reported[key_id]
        kind = made[key_id].kind
        assert key["account_name"] == name
        assert (key["user_name"], key["status"]) == (iam_key["user_name"], iam_key["status"])
        assert parse_time(key["create_date"]) == iam_key["create_date"].replace(microsecond=0) or abs(
            parse_time(key["create_date"]) - iam_key["create_date"]
        ) < datetime.timedelta(seconds=1)
        assert key["age_days"] == AUDIT_DAY - KINDS[kind][0], (name, kind)
        if iam_key["last_used_date"] is None:
            assert (key["last_used_date"], key["days_since_last_used"]) == (None, None), (name, kind)
        else:
            assert abs(parse_time(key["last_used_date"]) - iam_key["last_used_date"]) < datetime.timedelta(seconds=1)
            assert key["days_since_last_used"] == AUDIT_DAY - KINDS[kind][1], (name, kind)
        for field in ("last_used_service", "last_used_region"):
            # The credential report (the default) has no service or region in moto; GetAccessKeyLastUsed has both.
            assert key[field] == iam_key[field] or (not exact_last_use and key[field] is None), (name, kind, field)
        controls = [finding["cis_control"] for finding in key["findings"]]
        assert set(controls) == made[key_id].expected and len(controls) == len(set(controls)), (name, kind, controls)
        for finding in key["findings"]:
            assert finding["cis_version"] and finding["title"] and finding["detail"]
            assert (
                finding["security_hub_control"]
                == {"1.12": "IAM.22", "1.13": None, "1.14": "IAM.3"}[finding["cis_control"]]
            )


class HtmlReport(html.parser.HTMLParser):
    """Each <table id=...>'s body rows (cell texts) and headers, the summary cards, and every URL-ish attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.headers: dict[str, list[str]] = {}
        self.cards: dict[str, str] = {}
        self.references: list[str] = []
        self.tags: set[str] = set()
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._card: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.add(tag)
        self.references += [value or "" for key, value in attrs if key in ("src", "href", "action", "srcset")]
        if tag == "table":
            self._table = attributes.get("id")
            self.tables[self._table] = []
            self.headers[self._table] = []
        elif tag == "div" and (attributes.get("id") or "").startswith("count-"):
            self._card = attributes["id"]
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            self._cell = None
            if tag == "th":
                self.headers[self._table].append(text)
            else:
                self._row.append(text)
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.tables[self._table].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._card and data.strip() and self._card not in self.cards:
            self.cards[self._card] = data.strip()


def read_report(directory: Path) -> tuple[dict[str, Any], list[dict[str, str]], HtmlReport, str]:
    report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
    with open(directory / "report.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    text = (directory / "report.html").read_text(encoding="utf-8")
    page = HtmlReport()
    page.feed(text)
    page.close()
    return report, rows, page, text


def run_audit(run_playbook, tmp_path: Path, extra_vars: dict[str, Any], inventory_options: dict | None = None):
    """The shipped playbook on the organization's accounts (not the management account), 5 forks."""
    options = inventory_options or {"exclude_accounts": [MANAGEMENT_ACCOUNT]}
    inventory = write_inventory(tmp_path / "inventory", "organization", options)
    return run_playbook(
        [{"import_playbook": str(PLAYBOOK)}],
        extra_vars=extra_vars,
        extra_args=["-i", str(inventory), "--forks", "5"],
        env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True"},
    )


# ---------------------------------------------------------------------------------------------
# the inventory
# ---------------------------------------------------------------------------------------------


def test_inventory_lists_the_accounts_with_their_role_and_units(organization, proxy, tmp_path):
    ids = organization.account_ids
    listing = ansible_inventory(tmp_path, proxy.url, write_inventory(tmp_path, "organization", {}))
    hostvars = listing["_meta"]["hostvars"]
    assert set(hostvars) == {*ACCOUNTS, "master"}  # the management account is an account of the organization
    assert group_hosts(listing, "aws_accounts") == set(hostvars)
    for name in ACCOUNTS:
        assert hostvars[name] == {
            "aws_account_id": ids[name],
            "aws_account_name": name,
            "aws_account_email": organization.emails[name],
            "aws_account_status": "ACTIVE",
            "aws_account_parent_id": organization.unit_ids[ACCOUNTS[name]] if ACCOUNTS[name] else organization.root_id,
            "aws_account_ou_path": organization.unit_path(name),
            "assume_role_arn": organization.role_arn(name),
        }
    assert hostvars["master"]["aws_account_id"] == MANAGEMENT_ACCOUNT
    # One group per unit, nested as the units are: ou_Root holds every account.
    assert set(listing["ou_Root"]["children"]) >= {"ou_prod", "ou_dev", "ou_sandbox"}
    assert listing["ou_prod"]["children"] == ["ou_payments"]
    assert set(listing["ou_payments"]["hosts"]) == {"cards", "ledger"}
    assert group_hosts(listing, "ou_prod") == {"web", "api", "cards", "ledger"}
    assert group_hosts(listing, "ou_dev") == {"build", "qa"}
    assert group_hosts(listing, "ou_Root") == set(hostvars)
    # It listed the organization through the proxy, as the harness's AWS_ENDPOINT_URL says, and made no IAM call.
    assert set(proxy.actions()) == {"ListRoots", "ListAccountsForParent", "ListOrganizationalUnitsForParent"}

    # Under prod only (recursively), named by id, with another role, one account left out by name and one by id.
    listing = ansible_inventory(
        tmp_path,
        proxy.url,
        write_inventory(
            tmp_path,
            "prod",
            {
                "parent_ids": [organization.unit_ids["prod"]],
                "exclude_accounts": ["web", ids["ledger"]],
                "hostnames": "id",
                "role_name": "KeyguardAudit",
            },
        ),
    )
    hostvars = listing["_meta"]["hostvars"]
    assert set(hostvars) == {ids["api"], ids["cards"]}
    assert hostvars[ids["cards"]]["aws_account_name"] == "cards"
    assert hostvars[ids["cards"]]["aws_account_ou_path"] == ["prod", "payments"]
    assert hostvars[ids["cards"]]["assume_role_arn"] == f"arn:aws:iam::{ids['cards']}:role/KeyguardAudit"
    assert listing["ou_payments"]["hosts"] == [ids["cards"]]

    # Only the accounts asked for, by name or id.
    listing = ansible_inventory(
        tmp_path, proxy.url, write_inventory(tmp_path, "chosen", {"include_accounts": ["lab", ids["security"]]})
    )
    assert set(listing["_meta"]["hostvars"]) == {"lab", "security"}
    assert group_hosts(listing, "ou_sandbox") == {"lab"}


def test_inventory_cache_serves_the_listing_until_flushed(organization, proxy, tmp_path):
    ids = organization.account_ids
    options = {
        "include_accounts": ["lab", "build"],
        "cache": True,
        "cache_plugin": "ansible.builtin.jsonfile",
        "cache_connection": str(tmp_path / "inventory-cache"),
        "cache_timeout": 3600,
    }
    inventory = write_inventory(tmp_path, "cached", options)
    listing = ansible_inventory(tmp_path, proxy.url, inventory)
    assert listing["_meta"]["hostvars"]["lab"]["aws_account_ou_path"] == ["Root", "sandbox"]
    assert proxy.count("ListAccountsForParent") > 0
    # lab moves to dev; the cached listing still has it under sandbox, and Organizations is not asked.
    org = client("organizations", organization.moto_url)
    org.move_account(
        AccountId=ids["lab"],
        SourceParentId=organization.unit_ids["sandbox"],
        DestinationParentId=organization.unit_ids["dev"],
    )
    proxy.reset_calls()
    cached = ansible_inventory(tmp_path, proxy.url, inventory)
    assert cached == listing
    assert proxy.calls == []
    # --flush-cache lists the organization again.
    fresh = ansible_inventory(tmp_path, proxy.url, inventory, "--flush-cache")
    assert fresh["_meta"]["hostvars"]["lab"]["aws_account_ou_path"] == ["Root", "dev"]
    assert group_hosts(fresh, "ou_dev") == {"lab", "build"}
    assert proxy.count("ListAccountsForParent") > 0


def test_inventory_refuses_bad_input_before_any_call(organization, proxy, tmp_path):
    inventory = write_inventory(tmp_path, "bad", {"parent_ids": ["prod"]})  # a unit's name, not its id
    completed = run_ansible_inventory(tmp_path, proxy.url, inventory)
    assert completed.returncode != 0
    assert "keyguard.aws.aws_accounts:" in completed.stderr and "prod" in completed.stderr, completed.stderr
    assert proxy.calls == []
    # Well formed, but not this organization's root: found out from ListRoots, before any account is listed.
    inventory = write_inventory(tmp_path, "elsewhere", {"parent_ids": ["r-zz99"]})
    completed = run_ansible_inventory(tmp_path, proxy.url, inventory)
    assert completed.returncode != 0
    assert "parent r-zz99 is not the root of this organization" in completed.stderr, completed.stderr
    assert set(proxy.actions()) == {"ListRoots"}
    # The root by its id lists the whole organization, the management account included.
    listing = ansible_inventory(
        tmp_path, proxy.url, write_inventory(tmp_path, "root", {"parent_ids": [organization.root_id]})
    )
    assert set(listing["_meta"]["hostvars"]) == {*ACCOUNTS, "master"}


# ---------------------------------------------------------------------------------------------
# the audit playbook
# ---------------------------------------------------------------------------------------------


def test_audit_reports_every_account_as_its_iam_has_it(run_playbook, organization, proxy, tmp_path):
    report_dir = tmp_path / "reports" / "org"  # the playbook creates it
    result = run_audit(run_playbook, tmp_path, {"audit_report_dir": str(report_dir)})
    assert result.rc == 0, result.summary()
    assert set(result.stats) == {*ACCOUNTS, "localhost"}
    assert all(stats["failures"] == 0 and stats["ignored"] == 0 for stats in result.stats.values()), result.stats
    # One role assumed per account, each once; the audit only read IAM.
    assumed = [call.params["RoleArn"] for call in proxy.calls if call.action == "AssumeRole"]
    assert sorted(assumed) == sorted(organization.role_arn(name) for name in ACCOUNTS)
    assert set(proxy.actions()) <= AUDIT_PERMISSIONS, set(proxy.actions()) - AUDIT_PERMISSIONS

    report, rows, page, text = read_report(report_dir)
    ids = organization.account_ids
    keys = organization.keys
    findings = sum(len(key.expected) for key in keys)
    assert report["totals"] == {
        "accounts": 10,
        "accounts_audited": 10,
        "accounts_failed": 0,
        "keys": len(keys),
        "active_keys": sum(KINDS[key.kind][2] == "Active" for key in keys),
        "findings": findings,
    }
    assert report["errors"] == []
    assert report["thresholds"] == {"max_key_age_days": 90, "unused_days": 45}
    assert datetime.datetime.strptime(report["generated_at"], "%Y-%m-%dT%H:%M:%SZ")
    # Nothing to fail: the last play ended before its tasks, which started no worker for any account.
    assert result.records("Fail this account if it could not be audited") == []
    assert result.records("Fail this account when it has findings and audit_fail_on_findings is set") == []
    accounts = {account["account_name"]: account for account in report["accounts"]}
    assert set(accounts) == set(ACCOUNTS)
    for name in ACCOUNTS:
        account = accounts[name]
        mine = [key for key in keys if key.account == name]
        assert account["account_id"] == ids[name]
        assert account["host"] == name
        assert account["ou_path"] == organization.unit_path(name)
        assert account["assume_role_arn"] == organization.role_arn(name)
        assert (account["status"], account["error"]) == ("audited", None)
        assert account["key_count"] == len(mine)
        assert account["finding_count"] == sum(len(key.expected) for key in mine)
        # Each account's own credential report is read, without users too: its root row is where a root key shows.
        assert account["credential_report_generated_at"]
        assert_account_report(organization, name, report["keys"], exact_last_use=False)
    assert len(report["keys"]) == len(keys)

    # The flat findings and the count per control agree with the keys'.
    by_key = {key.access_key_id: key for key in keys}
    assert sorted((f["access_key_id"], f["cis_control"]) for f in report["findings"]) == sorted(
        (key.access_key_id, control) for key in keys for control in key.expected
    )
    for finding in report["findings"]:
        key = by_key[finding["access_key_id"]]
        assert (finding["account_id"], finding["account_name"], finding["user_name"]) == (
            ids[key.account],
            key.account,
            key.user_name,
        )
    expected_controls = {}
    for key in keys:
        for control in key.expected:
            expected_controls.setdefault(control, []).append(key.account)
    assert {c["cis_control"]: (c["count"], c["account_count"]) for c in report["controls"]} == {
        control: (len(found), len(set(found))) for control, found in expected_controls.items()
    }
    assert {c["cis_control"]: c["security_hub_control"] for c in report["controls"]} == {
        "1.12": "IAM.22",
        "1.13": None,
        "1.14": "IAM.3",
    }

    # CSV: one row a key, the same values as the JSON; findings as control ids; formulas neutralised.
    assert list(rows[0]) == [
        "account_id",
        "account_name",
        "user_name",
        "access_key_id",
        "status",
        "age_days",
        "last_used_date",
        "last_used_service",
        "last_used_region",
        "findings",
    ]
    assert len(rows) == len(keys)
    json_keys = {key["access_key_id"]: key for key in report["keys"]}
    for row in rows:
        key = json_keys[row["access_key_id"]]
        expected_user = "'" + key["user_name"] if key["user_name"].startswith("=") else key["user_name"]
        assert row == {
            "account_id": key["account_id"],
            "account_name": key["account_name"],
            "user_name": expected_user,
            "access_key_id": key["access_key_id"],
            "status": key["status"],
            "age_days": str(key["age_days"]),
            "last_used_date": key["last_used_date"] or "",
            "last_used_service": key["last_used_service"] or "",
            "last_used_region": key["last_used_region"] or "",
            "findings": ";".join(finding["cis_control"] for finding in key["findings"]),
        }
        assert set(filter(None, row["findings"].split(";"))) == by_key[row["access_key_id"]].expected
    assert any(row["user_name"].startswith("'=admin-") for row in rows)
    assert any(row["user_name"].startswith("reporting,weekly-") for row in rows)

    # HTML: self-contained, every key in the sortable table, the summaries per account and per control.
    assert text.startswith("<!DOCTYPE html>")
    assert page.references == [] and not {"link", "img", "iframe", "object"} & page.tags
    assert "http://" not in text and "https://" not in text
    assert "<script>" in text and "<script src" not in text
    assert page.cards == {
        "count-accounts": "10",
        "count-errors": "0",
        "count-keys": str(len(keys)),
        "count-findings": str(findings),
    }
    key_rows = {row[3]: row for row in page.tables["keys-table"]}
    assert set(key_rows) == set(by_key)
    for key_id, row in key_rows.items():
        key = by_key[key_id]
        assert row[:3] == [ids[key.account], key.account, key.user_name]
        assert row[6] == str(AUDIT_DAY - KINDS[key.kind][0])
        assert set(re.findall(r"\b1\.\d+\b", row[11])) == key.expected
    assert page.headers["keys-table"][:4] == ["Account ID", "Account", "User", "Access key ID"]
    account_rows = {row[1]: row for row in page.tables["accounts-table"]}
    assert set(account_rows) == set(ACCOUNTS)
    for name, row in account_rows.items():
        assert row[0] == ids[name]
        assert row[3:] == [
            str(accounts[name]["key_count"]),
            str(accounts[name]["active_key_count"]),
            str(accounts[name]["finding_count"]),
            "audited",
        ]
    assert {row[0]: row[3:] for row in page.tables["controls-table"]} == {
        control: [str(len(found)), str(len(set(found)))] for control, found in expected_controls.items()
    }
    assert "errors-table" not in page.tables
    summary = " ".join(result.task("Summarize the audit")["msg"].split())
    assert summary.startswith(f"10 of 10 accounts audited, {len(keys)} keys, {findings} findings;")
    written = result.task("Write report.json, report.csv and report.html")
    assert written["totals"] == report["totals"] and written["errors"] == [] and written["skipped_hosts"] == []
    assert written["files"] == {name: str(report_dir / f"report.{name}") for name in ("json", "csv", "html")}
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in report_dir.iterdir()} == dict.fromkeys(
        ("report.json", "report.csv", "report.html"), 0o640
    )
    assert stat.S_IMODE(report_dir.stat().st_mode) == 0o750 & ~current_umask()


def test_base_credentials_from_a_profile_audit_each_account_as_its_role(run_playbook, organization, proxy, tmp_path):
    """The README's set-up: a profile (no key in the environment) for the inventory and the playbook. Each account's
    report is that account's IAM, not the profile's (management) account's."""
    credentials = tmp_path / "credentials"
    keys = f"aws_access_key_id = {ansible_env.DUMMY_ACCESS_KEY}\naws_secret_access_key = {ansible_env.DUMMY_SECRET_KEY}"
    credentials.write_text(f"[org-security]\n{keys}\n", encoding="utf-8")
    names = ["web", "cards"]
    inventory = write_inventory(
        tmp_path / "inventory", "organization", {"profile": "org-security", "include_accounts": names}
    )
    report_dir = tmp_path / "report"
    result = run_playbook(
        [{"import_playbook": str(PLAYBOOK)}],
        extra_vars={"audit_report_dir": str(report_dir), "aws_profile": "org-security"},
        extra_args=["-i", str(inventory)],
        env={
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
        },
    )
    assert result.rc == 0, result.summary()
    assumed = [call.params["RoleArn"] for call in proxy.calls if call.action == "AssumeRole"]
    assert sorted(assumed) == sorted(organization.role_arn(name) for name in names)
    report, _rows, _page, _text = read_report(report_dir)
    assert sorted(account["account_name"] for account in report["accounts"]) == sorted(names)
    for name in names:
        assert_account_report(organization, name, report["keys"], exact_last_use=False)
    assert len(report["keys"]) == len([key for key in organization.keys if key.account in names])


def test_an_account_whose_role_cannot_be_assumed_fails_alone(run_playbook, organization, proxy, tmp_path):
    denied = organization.role_arn("cards")
    proxy.add_rule(
        lambda request: (
            iam_proxy.Fault("access_denied")
            if request.action == "AssumeRole" and request.params.get("RoleArn") == denied
            else None
        )
    )
    report_dir = tmp_path / "report"
    result = run_audit(run_playbook, tmp_path, {"audit_report_dir": str(report_dir), "audit_exact_last_used": True})
    assert result.rc != 0
    # The recap: that account failed, and it alone.
    assert result.stats["cards"]["failures"] == 1, result.stats
    assert all(stats["failures"] == 0 for host, stats in result.stats.items() if host != "cards"), result.stats
    failed = result.records("Fail this account if it could not be audited")
    assert [record["host"] for record in failed if record["status"] == "failed"] == ["cards"]
    message = " ".join(next(r for r in failed if r["host"] == "cards")["result"]["msg"].split())
    assert message.startswith(f"cards could not be audited: sts:AssumeRole of role {denied} failed: AccessDenied")

    assert set(proxy.actions()) <= AUDIT_PERMISSIONS, set(proxy.actions()) - AUDIT_PERMISSIONS
    report, rows, page, _text = read_report(report_dir)
    assert report["totals"]["accounts"] == 10
    assert report["totals"]["accounts_audited"] == 9
    assert report["totals"]["accounts_failed"] == 1
    (error,) = report["errors"]
    assert (error["account_id"], error["account_name"], error["host"]) == (
        organization.account_ids["cards"],
        "cards",
        "cards",
    )
    assert error["error"].startswith(f"sts:AssumeRole of role {denied} failed: AccessDenied")
    cards = next(account for account in report["accounts"] if account["account_name"] == "cards")
    assert (cards["status"], cards["error"], cards["key_count"]) == ("error", error["error"], 0)
    assert page.cards["count-errors"] == "1"
    assert page.tables["errors-table"] == [[organization.account_ids["cards"], "cards", error["error"]]]
    assert [row[1] for row in page.tables["accounts-table"] if row[-1].startswith("error: ")] == ["cards"]

    # Every other account is complete; cards' keys are still in its IAM, and in no report.
    for name in ACCOUNTS:
        if name != "cards":
            assert_account_report(organization, name, report["keys"], exact_last_use=True)
    assert iam_keys(organization, "cards")
    assert organization.account_ids["cards"] not in {row["account_id"] for row in rows}
    assert organization.account_ids["cards"] not in {key["account_id"] for key in report["keys"]}
    assert len(rows) == len([key for key in organization.keys if key.account != "cards"])


def test_audit_fail_on_findings_fails_each_account_with_findings_once_the_report_is_written(
    run_playbook, organization, tmp_path
):
    chosen = ["lab", "logs", "shared"]  # lab's one key is fine, shared has no users, logs has findings
    report_dir = tmp_path / "gate"
    result = run_audit(
        run_playbook,
        tmp_path,
        {"audit_report_dir": str(report_dir), "audit_fail_on_findings": True},
        {"include_accounts": chosen},
    )
    assert result.rc != 0
    assert {host: stats["failures"] for host, stats in result.stats.items()} == {
        "lab": 0,
        "logs": 1,
        "shared": 0,
        "localhost": 0,
    }
    expected = [control for key in organization.keys if key.account == "logs" for control in key.expected]
    gate = result.records("Fail this account when it has findings and audit_fail_on_findings is set")
    assert {record["host"]: record["status"] for record in gate} == {
        "lab": "skipped",
        "logs": "failed",
        "shared": "skipped",
    }
    (failed,) = [record for record in gate if record["status"] == "failed"]
    message = " ".join(failed["result"]["msg"].split())
    assert message == f"{len(expected)} findings in logs ({', '.join(sorted(set(expected)))})"
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert sorted(account["account_name"] for account in report["accounts"]) == chosen
    assert report["totals"]["findings"] == len(expected)


def test_access_key_audit_check_mode_a_wrong_variable_and_one_format(run_playbook, organization, tmp_path):
    """keyguard.aws.access_key_audit on its own: check mode writes nothing, a result variable no host has is an error
    that writes nothing, and formats and mode choose the files; hosts without a result are listed as skipped."""
    chosen = ["web", "logs"]
    inventory = write_inventory(tmp_path / "inventory", "pair", {"include_accounts": chosen})
    dest = tmp_path / "out"
    write = {"hosts": "{{ groups['aws_accounts'] }}", "result_var": "audit", "dest": str(dest)}
    result = run_playbook(
        [
            {
                "hosts": "web",  # logs does not run the audit: it is skipped
                "connection": "local",
                "gather_facts": False,
                "tasks": [
                    {
                        "keyguard.aws.iam_access_key_info": {
                            "assume_role_arn": "{{ assume_role_arn }}",
                            "include_findings": True,
                        },
                        "register": "audit",
                    }
                ],
            },
            {
                "hosts": "localhost",
                "connection": "local",
                "gather_facts": False,
                "tasks": [
                    {"name": "check", "keyguard.aws.access_key_audit": write, "check_mode": True},
                    {
                        "name": "wrong variable",
                        "keyguard.aws.access_key_audit": {**write, "result_var": "audit_typo"},
                        "ignore_errors": True,
                    },
                    {
                        "name": "csv only",
                        "keyguard.aws.access_key_audit": {**write, "formats": ["csv"], "mode": "0600"},
                    },
                ],
            },
        ],
        extra_args=["-i", str(inventory)],
        env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True"},
    )
    assert result.rc == 0, result.summary()

    checked = result.task("check")
    assert checked["changed"] is True
    assert checked["files"] == {name: str(dest / f"report.{name}") for name in ("json", "csv", "html")}
    assert checked["skipped_hosts"] == ["logs"]
    in_iam = iam_keys(organization, "web")
    assert in_iam
    assert checked["totals"]["accounts"] == 1 and checked["totals"]["keys"] == len(in_iam)

    wrong = result.task("wrong variable")
    assert wrong["failed"] is True
    assert wrong["msg"] == (
        "none of the 2 hosts has a variable 'audit_typo': is it the name the audit task registered its result under?"
    )

    assert sorted(path.name for path in dest.iterdir()) == ["report.csv"]  # nothing from check mode or the error
    assert stat.S_IMODE((dest / "report.csv").stat().st_mode) == 0o600
    with open(dest / "report.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["access_key_id"]: row["status"] for row in rows} == {
        key_id: key["status"] for key_id, key in in_iam.items()
    }
    assert {row["account_id"] for row in rows} <= {organization.account_ids["web"]}


# ---------------------------------------------------------------------------------------------
# rotation across the organization
# ---------------------------------------------------------------------------------------------


def test_rotation_playbook_runs_in_each_account_as_its_role(run_playbook, organization, proxy, tmp_path):
    """rotate_access_keys.yml on two accounts of the inventory: each account's user gets a key in that account, its
    secret in that account's Secrets Manager; the management account is left alone."""
    chosen = list(ACCOUNTS)[:2]
    for name in chosen:
        organization.iam(name).create_user(UserName="rotator")
    inventory = write_inventory(tmp_path / "inventory", "two", {"include_accounts": chosen})
    result = run_playbook(
        [{"import_playbook": str(REPO_ROOT / "playbooks" / "rotate_access_keys.yml")}],
        extra_vars={"rotation_hosts": "aws_accounts", "rotation_users": [{"user_name": "rotator"}]},
        extra_args=["-i", str(inventory), "--forks", "2"],
    )
    assert result.rc == 0, result.summary()
    for name in chosen:
        (key,) = organization.iam(name).list_access_keys(UserName="rotator")["AccessKeyMetadata"]
        sts = client("sts", organization.moto_url)
        credentials = sts.assume_role(RoleArn=organization.role_arn(name), RoleSessionName="read-back")["Credentials"]
        secrets = client(
            "secretsmanager",
            organization.moto_url,
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
        )
        document = json.loads(secrets.get_secret_value(SecretId="iam-keys/rotator")["SecretString"])
        assert document["AccessKeyId"] == key["AccessKeyId"]
        assert document["SecretAccessKey"] not in result.stdout + result.stderr
    management = client("secretsmanager", organization.moto_url)
    assert management.list_secrets()["SecretList"] == []
