# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This plugin_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The audit report's HTML page as a Jinja template (rendered with autoescaping by _audit_report_render.py)."""

from __future__ import annotations

# Inline CSS and JavaScript only: the Content-Security-Policy forbids loading anything. The script only reorders rows.
HTML_TEMPLATE = r"""{%- macro text(value) -%}{{ '' if value is none else value }}{%- endmacro -%}
{%- macro when(iso) -%}
{%- if iso -%}<time datetime="{{ iso }}">{{ iso[:10] ~ ' ' ~ iso[11:16] }}</time>{%- else -%}never{%- endif -%}
{%- endmacro -%}
{%- macro number(value) -%}
{%- if value is none -%}<td class="num" data-sort="-1">&ndash;</td>{%- else -%}
<td class="num" data-sort="{{ value }}">{{ value }}</td>{%- endif -%}
{%- endmacro -%}
{%- macro controls(findings) -%}
{%- for finding in findings -%}
<span class="finding" title="{{ finding.title }}: {{ finding.detail }}">{{ finding.cis_control }}
{%- if finding.security_hub_control %} / {{ finding.security_hub_control }}{% endif %}</span>{{ ' ' if not loop.last }}
{%- endfor -%}
{%- endmacro -%}
{%- set totals = audit_report.totals -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>AWS Organization access key audit (CIS AWS Foundations)</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 90em;
    color: #1b1b1b; padding: 0 1em; }
  h1 { font-size: 1.6em; margin-bottom: 0.2em; }
  h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
  .meta { color: #555; }
  .summary { display: flex; flex-wrap: wrap; gap: 1em; margin: 1.5em 0; }
  .card { border: 1px solid #ccc; border-radius: 6px; padding: 0.8em 1.2em; min-width: 10em; }
  .card strong { display: block; font-size: 1.8em; }
  .fail strong, tr.error td { color: #b00020; }
  .ok strong { color: #1b7a1b; }
  table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
  th, td { text-align: left; padding: 0.3em 0.5em; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
  th { background: #f4f4f4; }
  table.sortable th { cursor: pointer; user-select: none; white-space: nowrap; }
  table.sortable th[aria-sort="ascending"]::after { content: " \25B2"; }
  table.sortable th[aria-sort="descending"]::after { content: " \25BC"; }
  td.num, th.num { text-align: right; }
  .finding { display: inline-block; background: #fde7ea; color: #7a0014; border-radius: 3px; padding: 0 0.3em;
    margin: 0.1em 0; white-space: nowrap; }
  p.pass { color: #1b7a1b; }
  code { font-size: 0.95em; }
</style>
</head>
<body>
<h1>AWS Organization access key audit</h1>
<p class="meta">CIS AWS Foundations Benchmark access-key controls
(numbered as in CIS v{{ (audit_report.controls | map(attribute='cis_version') | first) | default('3.0.0') }})
and their AWS Security Hub controls. Generated {{ audit_report.generated_at }} by keyguard.aws.
Thresholds: keys older than {{ audit_report.thresholds.max_key_age_days }} days,
unused for {{ audit_report.thresholds.unused_days }} days (a key never used counts from its creation).
Ages are measured by each account's IAM clock.
Click a column header to sort a table.</p>

<div class="summary">
  <div class="card" id="count-accounts"><strong>{{ totals.accounts_audited }}</strong>accounts audited</div>
  <div class="card {{ 'fail' if totals.accounts_failed else 'ok' }}" id="count-errors">
    <strong>{{ totals.accounts_failed }}</strong>accounts not audited</div>
  <div class="card" id="count-keys">
    <strong>{{ totals['keys'] }}</strong>access keys ({{ totals.active_keys }} Active)</div>
  <div class="card {{ 'fail' if totals.findings else 'ok' }}" id="count-findings">
    <strong>{{ totals.findings }}</strong>findings</div>
</div>

<h2 id="errors">Accounts that could not be audited</h2>
{% if audit_report.errors %}
<table id="errors-table" class="sortable">
  <thead><tr><th>Account ID</th><th>Account</th><th>Error</th></tr></thead>
  <tbody>
{% for error in audit_report.errors %}
    <tr class="error"><td><code>{{ text(error.account_id) }}</code></td><td>{{ text(error.account_name) }}</td>
      <td>{{ text(error.error) }}</td></tr>
{% endfor %}
  </tbody>
</table>
{% else %}
<p class="pass">Every account was audited.</p>
{% endif %}

<h2 id="controls">Findings per control</h2>
{% if audit_report.controls %}
<table id="controls-table" class="sortable">
  <thead><tr><th>CIS control</th><th>Security Hub</th><th>Control</th><th class="num">Findings</th>
    <th class="num">Accounts</th></tr></thead>
  <tbody>
{% for control in audit_report.controls %}
    <tr><td>{{ text(control.cis_control) }}</td>
      <td>{% if control.security_hub_control %}{{ control.security_hub_control }}{% else %}&ndash;{% endif %}</td>
      <td>{{ text(control.title) }}</td>{{ number(control.count) }}{{ number(control.account_count) }}</tr>
{% endfor %}
  </tbody>
</table>
{% else %}
<p class="pass">No key breaks a control.</p>
{% endif %}

<h2 id="accounts">Summary per account</h2>
<table id="accounts-table" class="sortable">
  <thead><tr><th>Account ID</th><th>Account</th><th>Organizational unit</th><th class="num">Keys</th>
    <th class="num">Active keys</th><th class="num">Findings</th><th>Status</th></tr></thead>
  <tbody>
{% for account in audit_report.accounts %}
    <tr{% if account.status == 'error' %} class="error"{% endif %}>
      <td><code>{{ text(account.account_id) }}</code></td><td>{{ text(account.account_name) }}</td>
      <td>{{ account.ou_path | join(' / ') }}</td>{{ number(account.key_count) }}
      {{ number(account.active_key_count) }}{{ number(account.finding_count) }}
      <td>{{ 'error: ' ~ account.error if account.status == 'error' else 'audited' }}</td></tr>
{% endfor %}
  </tbody>
</table>
{% set root_findings = audit_report.findings | selectattr('user_name', 'eq', '<root_account>') | list %}
{% if root_findings %}

<h2 id="root">Root user access keys</h2>
<table id="root-table" class="sortable">
  <thead><tr><th>Account ID</th><th>Account</th><th>Finding</th></tr></thead>
  <tbody>
{% for finding in root_findings %}
    <tr><td><code>{{ text(finding.account_id) }}</code></td><td>{{ text(finding.account_name) }}</td>
      <td>{{ controls([finding]) }} {{ text(finding.detail) }}</td></tr>
{% endfor %}
  </tbody>
</table>
{% endif %}

<h2 id="keys">Access keys</h2>
{% if audit_report['keys'] %}
<table id="keys-table" class="sortable">
  <thead>
    <tr><th>Account ID</th><th>Account</th><th>User</th><th>Access key ID</th><th>Status</th><th>Created (UTC)</th>
      <th class="num">Age (days)</th><th>Last used (UTC)</th><th>Service</th><th>Region</th>
      <th class="num">Days since last use</th><th>Findings</th></tr>
  </thead>
  <tbody>
{% for key in audit_report['keys'] %}
    <tr><td><code>{{ text(key.account_id) }}</code></td><td>{{ text(key.account_name) }}</td>
      <td>{{ text(key.user_name) }}</td><td><code>{{ text(key.access_key_id) }}</code></td>
      <td>{{ text(key.status) }}</td><td data-sort="{{ text(key.create_date) }}">{{ when(key.create_date) }}</td>
      {{ number(key.age_days) }}
      <td data-sort="{{ text(key.last_used_date | default(none)) }}">{{ when(key.last_used_date | default(none)) }}</td>
      <td>{{ text(key.last_used_service | default(none)) }}</td>
      <td>{{ text(key.last_used_region | default(none)) }}</td>{{ number(key.days_since_last_used | default(none)) }}
      <td data-sort="{{ key.findings | default([]) | length }}">{{ controls(key.findings | default([])) }}</td></tr>
{% endfor %}
  </tbody>
</table>
{% else %}
<p class="pass">No access keys in the audited accounts.</p>
{% endif %}
<script>
// Sort a table by the clicked column: numbers (data-sort on .num cells) numerically, the rest as text (data-sort when
// present, e.g. ISO dates), ascending first, again to reverse.
(function () {
  function value(row, index) {
    var cell = row.cells[index];
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (header, index) {
      header.setAttribute("role", "columnheader");
      header.addEventListener("click", function () {
        var ascending = header.getAttribute("aria-sort") !== "ascending";
        var numeric = header.classList.contains("num");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = value(a, index), y = value(b, index);
          var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, undefined, {numeric: true});
          return ascending ? order : -order;
        });
        Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
</script>
</body>
</html>
"""
