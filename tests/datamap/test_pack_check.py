"""``doorstep pack check DIR`` and ``doorstep pack diff OLD NEW``, one broken pack per rule.

Each test copies the shipped pack to a temporary folder, breaks one thing and
expects exactly the ``FILE:LINE: message`` lines the check prints (the line is
looked up in the copied file, so editing the shipped pack does not break them),
exit 1; the shipped pack itself passes with exit 0.  Start-up refuses a broken
pack with the same lines.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.clock import SystemClock
from doorstep.core.models import schema_metadata
from doorstep.core.runtime import Runtime
from doorstep.packcheck.check import check_pack
from doorstep.privacy.consent import grant
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.vocabulary import not_personal
from tests.cli_run import doorstep
from tests.conftest import database_url_of
from tests.packs import reference_terms
from tests.privacy.conftest import CAMERA_NOTICE, new_subject

#: No database: ``pack check`` never needs one, ``pack diff`` then counts nothing.
OFFLINE: dict[str, str | None] = {"DOORSTEP_DATABASE_URL": None}


def copy_pack(tmp_path: Path, name: str = "pack") -> Path:
    """A copy of the shipped pack to break."""
    return Path(shutil.copytree(DEFAULT_PACK, tmp_path / name))


def edit(pack: Path, file: str, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``pack/file``."""
    path = pack / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (file, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def line(pack: Path, file: str, text: str, after: str = "") -> int:
    """The 1-based line of ``pack/file`` that holds ``text`` (the first after ``after``)."""
    lines = (pack / file).read_text(encoding="utf-8").splitlines()
    start = next(i for i, item in enumerate(lines) if after in item) if after else 0
    return next(i for i, item in enumerate(lines) if i >= start and text in item) + 1


def check(pack: Path) -> subprocess.CompletedProcess[str]:
    return doorstep("pack", "check", str(pack), env=OFFLINE)


def assert_problems(pack: Path, *expected: str) -> None:
    result = check(pack)
    assert (result.returncode, result.stdout.splitlines()) == (1, list(expected)), result.stderr
    assert f"the policy pack has {len(expected)} problem(s)" in result.stderr


def test_the_shipped_pack_passes() -> None:
    result = check(DEFAULT_PACK)
    assert (result.returncode, result.stdout) == (0, f"policy pack valid: {DEFAULT_PACK}\n")


def test_a_folder_that_is_no_pack_is_bad_usage(tmp_path: Path) -> None:
    result = check(tmp_path)
    assert result.returncode == 2
    assert "is not a policy pack folder (it holds no datamap.yaml)" in result.stderr


def test_a_consent_term_for_an_unknown_purpose(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(pack, "consent.yaml", "  device.qr_camera:\n", "  device.qr_kamera:\n")
    n = line(pack, "consent.yaml", "device.qr_kamera:")
    assert_problems(
        pack, f"consent.yaml:{n}: names unknown purpose 'device.qr_kamera' (not in datamap.yaml)"
    )


def test_a_recipient_naming_an_unknown_purpose(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(
        pack,
        "datamap.yaml",
        "\nrecipients:\n",
        "\nrecipients:\n  mailer:\n    description: Sends our e-mail.\n    purposes: [adverts]\n",
    )
    n = line(pack, "datamap.yaml", "purposes: [adverts]")
    assert_problems(
        pack,
        f"datamap.yaml:{n}: recipients.mailer.purposes names unknown purpose 'adverts' "
        "(not in datamap.yaml)",
    )


def test_a_purpose_columns_declare_is_missing(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    n = line(pack, "datamap.yaml", "  security.key_management:")
    lines = (pack / "datamap.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[n].startswith("    data_use:") and lines[n + 2].startswith("    clauses:")
    (pack / "datamap.yaml").write_text("".join(lines[: n - 1] + lines[n + 3 :]), encoding="utf-8")
    section = line(pack, "datamap.yaml", "purposes:")
    assert_problems(
        pack,
        f"datamap.yaml:{section}: subject_keys.subject_id: "
        "unknown purpose 'security.key_management'",
    )


def test_a_column_without_a_declaration_is_named_by_table_and_column() -> None:
    metadata = sa.MetaData()
    for table in schema_metadata().tables.values():
        table.to_metadata(metadata)
    sa.Table(
        "scratch",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("a row number")),
        sa.Column("note", sa.Text),
    )
    problems = [str(item) for item in check_pack(DEFAULT_PACK, metadata)]
    assert problems == ["scratch.note: no privacy declaration (personal() or not_personal())"]


def test_a_retention_rule_bound_to_no_table(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(
        pack,
        "datamap.yaml",
        "\nregions:\n",
        "  newsletter_log:\n    trigger: created\n    period: P1Y\n"
        "    description: Sent newsletters.\n\nregions:\n",
    )
    n = line(pack, "datamap.yaml", "  newsletter_log:")
    assert_problems(
        pack,
        f"datamap.yaml:{n}: retention rule 'newsletter_log' is bound to no table: no column "
        "declares it and no retention binding executes it",
    )


def test_a_consent_term_without_text_in_a_declared_language(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(pack, "consent.yaml", "  language: en\n", "  language: en\n  languages: [en, de]\n")
    edit(
        pack,
        "consent.yaml",
        "    clauses: [CPE-I.ii.2.c, CPE-V.4.a, CPE-V.4.b]\n",
        "    clauses: [CPE-I.ii.2.c, CPE-V.4.a, CPE-V.4.b]\n    translations:\n      de:\n"
        "        function: Den QR-Code mit der Kamera scannen\n"
        "      fr:\n        function: Scanner le code QR\n",
    )
    assert_problems(
        pack,
        f"consent.yaml:{line(pack, 'consent.yaml', '      de:')}: purpose 'device.qr_camera' "
        "translations.de.manual_path is required",
        f"consent.yaml:{line(pack, 'consent.yaml', '      fr:')}: purpose 'device.qr_camera' "
        "has text in 'fr', which is not a further language of policy.languages (en, de)",
        f"consent.yaml:{line(pack, 'consent.yaml', '  wifi.location_scan:')}: purpose "
        "'wifi.location_scan' has no text in "
        "'de' (translations.de with function and manual_path)",
        f"consent.yaml:{line(pack, 'consent.yaml', '  device.diagnostics_by_staff:')}: purpose "
        "'device.diagnostics_by_staff' has no text in "
        "'de' (translations.de with function and manual_path)",
        f"consent.yaml:{line(pack, 'consent.yaml', '  account.profile:')}: purpose "
        "'account.profile' has no text in 'de' (translations.de with function and manual_path)",
        f"consent.yaml:{line(pack, 'consent.yaml', '  newsletter:')}: purpose "
        "'newsletter' has no text in 'de' (translations.de with function and manual_path)",
        f"consent.yaml:{line(pack, 'consent.yaml', '  account.guardian_consent:')}: purpose "
        "'account.guardian_consent' has no text in 'de' (translations.de with function)",
    )


def test_a_clause_id_the_catalogue_lacks(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(pack, "datamap.yaml", "[CPE-I.i.1.a, CORP-1.1]", "[CPE-I.i.1.a, CORP-99.9]")
    edit(pack, "consent.yaml", "clauses: [CORP-1.7]", "clauses: [CORP-1.77]")
    assert_problems(
        pack,
        f"consent.yaml:{line(pack, 'consent.yaml', 'CORP-1.77')}: purpose 'account.profile' "
        "cites unknown clause 'CORP-1.77'",
        f"datamap.yaml:{line(pack, 'datamap.yaml', 'CORP-99.9')}: purpose 'account.management' "
        "cites unknown clause 'CORP-99.9'",
    )


def test_a_clause_whose_quote_left_the_policy_text(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(pack, "cpe-privacy-policy.txt", "This policy is applicable to", "This policy applies to")
    n = line(pack, "clauses.yaml", "  quote:", after="- id: CPE-0.1")
    assert_problems(
        pack,
        f"clauses.yaml:{n}: clause 'CPE-0.1': the quote \"This policy is applicable to ZTE's "
        'overs"… is no longer in cpe-privacy-policy.txt',
    )


def test_a_quote_reflowed_over_lines_still_matches(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(
        pack,
        "cpe-privacy-policy.txt",
        "This policy is applicable to",
        "This  policy\nis applicable to",
    )
    assert check(pack).returncode == 0


def test_a_broken_value_is_named_with_its_line_and_start_up_refuses_it(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(pack, "datamap.yaml", "    data_use: employment\n", "    data_use: mind.reading\n")
    n = line(pack, "datamap.yaml", "data_use: mind.reading")
    message = (
        f"datamap.yaml:{n}: purpose 'staff.administration' has unknown data_use 'mind.reading'"
    )
    assert_problems(pack, message)
    started = doorstep(
        "migrate",
        env={
            "DOORSTEP_POLICY_PACK": str(pack),
            "DOORSTEP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        },
    )
    assert (started.returncode, started.stderr) == (2, f"doorstep: policy pack: {message}\n")


def test_start_up_lists_every_problem_like_the_check(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(pack, "datamap.yaml", "[CPE-I.i.1.a, CORP-1.1]", "[CPE-I.i.1.a, CORP-99.9]")
    edit(pack, "consent.yaml", "  device.qr_camera:\n", "  device.qr_kamera:\n")
    listed = check(pack).stdout.splitlines()
    assert len(listed) == 2
    started = doorstep(
        "migrate",
        env={
            "DOORSTEP_POLICY_PACK": str(pack),
            "DOORSTEP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        },
    )
    assert (started.returncode, started.stderr) == (
        2,
        "doorstep: policy pack: " + "; ".join(listed) + "\n",
    )


def _shorten_and_remove(tmp_path: Path) -> tuple[Path, Path]:
    """The shipped pack, and a copy that drops ``device.qr_camera`` and keeps outbox 7 days."""
    new = copy_pack(tmp_path, "new")
    n = line(new, "datamap.yaml", "  device.qr_camera:")
    lines = (new / "datamap.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    (new / "datamap.yaml").write_text("".join(lines[: n - 1] + lines[n + 3 :]), encoding="utf-8")
    # and from the policy's purpose list, which maps onto it (CORP-1.2)
    edit(new, "datamap.yaml", "device.qr_camera, wifi", "wifi")
    n = line(new, "datamap.yaml", "period: P30D", after="  outbox_messages:")
    lines = (new / "datamap.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[n - 1] = lines[n - 1].replace("P30D", "P7D")
    (new / "datamap.yaml").write_text("".join(lines), encoding="utf-8")
    return DEFAULT_PACK, new


def test_diff_offline_lists_removed_purposes_and_shortened_periods(tmp_path: Path) -> None:
    old, new = _shorten_and_remove(tmp_path)
    result = doorstep("pack", "diff", str(old), str(new), "--offline", env=OFFLINE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "removed purpose 'device.qr_camera'; still declared by "
        "device_registrations.endpoint_id, device_registrations.mqtt_topic",
        "shortened period 'outbox_messages': P30D -> P7D after created; bound to outbox",
        # consent.yaml still names the purpose: no policy version could be classified
        "as a policy version: not classified (policy pack: consent.yaml names unknown "
        "purpose 'device.qr_camera' (not in datamap.yaml))",
        "offline: no counts (--offline)",
    ]
    same = doorstep("pack", "diff", str(old), str(old), env=OFFLINE)
    assert same.stdout.splitlines() == [
        "no purpose removed, no period shortened",
        "as a policy version: no difference",
        "offline: no counts (--offline)",
    ]


def test_diff_without_a_database_says_it_counted_nothing(tmp_path: Path) -> None:
    old, new = _shorten_and_remove(tmp_path)
    result = doorstep("pack", "diff", str(old), str(new), env=OFFLINE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "offline: no counts (no DOORSTEP_DATABASE_URL and no demo running)"
    )


_OUTBOX = """
    INSERT INTO outbox (id, subject_id, channel, template, locale, email, status, created_at,
                        sent_at, finished_at)
    SELECT gen_random_uuid(), gen_random_uuid(), 'email', 'account.verify_email', 'en',
           'x@example.org', 'sent', :at, :at, :at FROM generate_series(1, :n)
"""


def test_diff_counts_what_the_change_does_to_the_database(
    committed: Runtime, tmp_path: Path
) -> None:
    old, new = _shorten_and_remove(tmp_path)
    now = SystemClock().now()
    with committed.engine.begin() as connection:
        connection.execute(sa.text(_OUTBOX), {"at": now - timedelta(days=10), "n": 3})
        connection.execute(sa.text(_OUTBOX), {"at": now - timedelta(days=40), "n": 2})
    with committed.sessions.begin() as session:
        grant(
            session,
            subject_id=new_subject(session),
            purpose="device.qr_camera",
            channel="app",
            notice_text=CAMERA_NOTICE,
            clock=committed.clock,
            terms=reference_terms(),
        )
    url = database_url_of(committed.settings)
    result = doorstep("pack", "diff", str(old), str(new), env={"DOORSTEP_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("removed purpose 'device.qr_camera'; 1 consent records; ")
    # 3 outbox rows are 10 days old: due under P7D, not yet under P30D (the 2 older ones are).
    assert lines[1].endswith("; bound to outbox; due at once: outbox: 3 rows")
    assert lines[-1].startswith("counted in the database at ")


@pytest.mark.parametrize("args", [("diff", "nowhere", "nowhere"), ("check",)])
def test_bad_usage_exits_2(args: tuple[str, ...]) -> None:
    assert doorstep("pack", *args, env=OFFLINE).returncode == 2
