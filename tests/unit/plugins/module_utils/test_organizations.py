# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Listing an AWS Organization's accounts (issue 13) against moto's in-process Organizations."""

from __future__ import annotations

import typing as t

import boto3
import pytest

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError, aws_client, connection_kwargs
from ansible_collections.keyguard.aws.plugins.module_utils._organizations import (
    list_accounts,
    select,
    validate_selection,
)


@pytest.fixture
def organization(moto_iam: t.Any) -> dict[str, t.Any]:
    """Root > prod > payments; one account under the root, two under prod, one under payments, one suspended."""
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    payments = org.create_organizational_unit(ParentId=prod, Name="payments")["OrganizationalUnit"]["Id"]
    ids = {}
    for name, parent in (("tools", root), ("web", prod), ("api", prod), ("cards", payments), ("old", prod)):
        account = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
        ids[name] = account
    org.close_account(AccountId=ids["old"])
    return {"root": root, "prod": prod, "payments": payments, "ids": ids}


def client() -> t.Any:
    return aws_client("organizations", **connection_kwargs({}))


def test_the_whole_organization_with_parents_and_paths(organization: dict) -> None:
    accounts = {account.name: account for account in list_accounts(client())}
    ids = organization["ids"]
    assert set(accounts) >= set(ids)  # and the management account
    cards = accounts["cards"]
    assert (cards.id, cards.parent_id, cards.email) == (ids["cards"], organization["payments"], "cards@example.com")
    assert [unit.name for unit in cards.path] == ["Root", "prod", "payments"]
    assert (
        cards.role_arn("OrganizationAccountAccessRole")
        == f"arn:aws:iam::{ids['cards']}:role/OrganizationAccountAccessRole"
    )
    assert accounts["tools"].parent_id == organization["root"]
    active = select(accounts.values(), ["ACTIVE"])
    assert "old" not in [account.name for account in active]
    assert accounts["old"].status in ("SUSPENDED", "PENDING_CLOSURE")


def test_under_given_units_recursively_with_filters(organization: dict) -> None:
    under_prod = list_accounts(client(), [organization["prod"]])
    assert sorted(account.name for account in under_prod) == ["api", "cards", "old", "web"]
    assert [unit.name for unit in next(a for a in under_prod if a.name == "cards").path] == ["prod", "payments"]
    chosen = select(under_prod, ["ACTIVE"], include=["api", organization["ids"]["cards"]], exclude=["cards"])
    assert [account.name for account in chosen] == ["api"]


@pytest.mark.parametrize(
    ("parents", "accounts", "role", "message"),
    [
        (["prod"], [], "OrganizationAccountAccessRole", "are not organization root"),
        ([], [""], "OrganizationAccountAccessRole", "not empty strings"),
        ([], [], "bad role!", "is not a valid IAM role name"),
    ],
)
def test_bad_selection_fails_before_any_call(parents: list, accounts: list, role: str, message: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        validate_selection(parents, accounts, role)
    assert message in str(excinfo.value)
