# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_accounts
short_description: The accounts of an AWS Organization as inventory hosts, with the role to assume in each
version_added: 0.2.0
description:
  - One host per account of the organization (or of the organizational units under O(parent_ids), recursively),
    with the account's id, name, e-mail and parent, and the ARN of the role to assume there (O(role_name)).
  - So one playbook audits or rotates keys across every account, in parallel through Ansible's forks (and AWX job
    slicing); each task passes C(assume_role_arn) from the host's variables to the keyguard.aws modules.
  - Hosts are grouped in C(aws_accounts), and by organizational unit, C(ou_<name>) (the root is C(ou_Root)); a unit's
    group is a child of its parent's. C(compose), C(groups) and C(keyed_groups) work as in every constructed
    inventory, and the listing can be cached.
  - The inventory file's name must end in C(aws_accounts.yml) or C(aws_accounts.yaml).
  - Needs C(organizations:ListRoots), C(organizations:ListAccountsForParent),
    C(organizations:ListOrganizationalUnitsForParent) (and C(organizations:DescribeOrganizationalUnit) for
    O(parent_ids)) in the management account, or a delegated administrator account.
author:
  - keyguard.aws developers (@keyguard-aws)
options:
  plugin:
    description: The name of this plugin; it makes the file an C(aws_accounts) inventory.
    required: true
    type: str
    choices: [keyguard.aws.aws_accounts]
  parent_ids:
    description:
      - Only the accounts under these roots (C(r-...)) or organizational units (C(ou-...)), recursively.
      - All accounts of the organization when empty.
    type: list
    elements: str
    default: []
  include_accounts:
    description: Only these accounts (ids or names). All when empty.
    type: list
    elements: str
    default: []
  exclude_accounts:
    description: Not these accounts (ids or names), for example the management account.
    type: list
    elements: str
    default: []
  statuses:
    description: Only accounts in one of these states.
    type: list
    elements: str
    choices: [ACTIVE, SUSPENDED, PENDING_CLOSURE]
    default: [ACTIVE]
  hostnames:
    description:
      - V(name) names each host after the account's name (with C(_<id>) appended when two accounts share a name),
        V(id) after its id.
    type: str
    choices: [name, id]
    default: name
  role_name:
    description:
      - The role to assume in each account, for the host variable C(assume_role_arn).
      - C(OrganizationAccountAccessRole) is the role AWS Organizations creates in the accounts it creates.
    type: str
    default: OrganizationAccountAccessRole
extends_documentation_fragment:
  - keyguard.aws.connection.plugins
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
notes:
  - "Host variables: C(aws_account_id), C(aws_account_name), C(aws_account_email), C(aws_account_status),
    C(aws_account_parent_id), C(aws_account_ou_path) (the unit names from the root down), C(assume_role_arn)."
  - The connection options are the management account's (with C(assume_role_arn) for a role there to list the
    organization as); each host's own C(assume_role_arn) is the member account's role.
seealso:
  - module: keyguard.aws.iam_access_key_info
"""

EXAMPLES = r"""
# organization.aws_accounts.yml
plugin: keyguard.aws.aws_accounts
profile: org-management
exclude_accounts: [management]
keyed_groups:
  - key: aws_account_status
    prefix: status

# production.aws_accounts.yml: only the accounts under one unit, named by id, read-only audit role
plugin: keyguard.aws.aws_accounts
parent_ids: [ou-ab12-cd34ef56]
hostnames: id
role_name: SecurityAudit
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/keyguard-aws-inventory
"""

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.keyguard.aws.plugins.module_utils._aws import (
    CONNECTION_ARGUMENT_SPEC,
    AwsError,
    aws_client,
    connection_kwargs,
)
from ansible_collections.keyguard.aws.plugins.module_utils._organizations import (
    Account,
    Unit,
    list_accounts,
    select,
    validate_selection,
)

ALL_ACCOUNTS_GROUP = "aws_accounts"


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "keyguard.aws.aws_accounts"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("aws_accounts.yml", "aws_accounts.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        accounts = None
        if use_cache:
            try:
                accounts = [_account_from_cache(item) for item in self._cache[cache_key]]
            except KeyError:
                accounts = None
        if accounts is None:
            accounts = self._list_accounts()
            if self.get_option("cache"):
                self._cache[cache_key] = [_account_to_cache(account) for account in accounts]
        self._populate(accounts)

    def _list_accounts(self) -> list[Account]:
        parent_ids = self.get_option("parent_ids") or []
        include = self.get_option("include_accounts") or []
        exclude = self.get_option("exclude_accounts") or []
        try:
            validate_selection(parent_ids, [*include, *exclude], self.get_option("role_name"))
            params = {name: self.get_option(name) for name in CONNECTION_ARGUMENT_SPEC}
            client = aws_client("organizations", **connection_kwargs(params))
            found = list_accounts(client, parent_ids)
        except AwsError as exc:
            raise AnsibleParserError(f"keyguard.aws.aws_accounts: {exc.message}") from None
        return select(found, self.get_option("statuses"), include, exclude)

    def _populate(self, accounts: list[Account]) -> None:
        role_name = self.get_option("role_name")
        strict = self.get_option("strict")
        names = [account.name for account in accounts]
        self.inventory.add_group(ALL_ACCOUNTS_GROUP)
        for account in accounts:
            if self.get_option("hostnames") == "id":
                host = account.id
            else:
                host = account.name if names.count(account.name) == 1 else f"{account.name}_{account.id}"
            self.inventory.add_host(host, group=ALL_ACCOUNTS_GROUP)
            host_vars = {
                "aws_account_id": account.id,
                "aws_account_name": account.name,
                "aws_account_email": account.email,
                "aws_account_status": account.status,
                "aws_account_parent_id": account.parent_id,
                "aws_account_ou_path": [unit.name for unit in account.path],
                "assume_role_arn": account.role_arn(role_name),
            }
            for name, value in host_vars.items():
                self.inventory.set_variable(host, name, value)
            self._add_unit_groups(host, account.path)
            self._set_composite_vars(self.get_option("compose"), host_vars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, host, strict=strict)

    def _add_unit_groups(self, host: str, path: tuple[Unit, ...]) -> None:
        parent_group = None
        for unit in path:
            group = self.inventory.add_group(self._sanitize_group_name(f"ou_{unit.name}"))
            if parent_group is not None and parent_group != group:
                self.inventory.add_child(parent_group, group)
            parent_group = group
        if parent_group is not None:
            self.inventory.add_child(parent_group, host)


def _account_to_cache(account: Account) -> dict:
    return {**account.__dict__, "path": [[unit.id, unit.name] for unit in account.path]}


def _account_from_cache(item: dict) -> Account:
    return Account(**{**item, "path": tuple(Unit(unit_id, name) for unit_id, name in item["path"])})
