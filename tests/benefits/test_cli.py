"""``portal benefits …``: the pages' eligibility and report, from the command line."""

from __future__ import annotations

from flask import Flask

from tests.roles import Story


def test_eligibility_lists_what_a_member_may_claim_and_why_not(app: Flask, story: Story) -> None:
    result = app.test_cli_runner().invoke(args=["benefits", "eligibility", story.taro.email])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("Member rate at Genesis  [eligible]" in line for line in lines)
    pending = app.test_cli_runner().invoke(
        args=["benefits", "eligibility", story.pending_member.email, "--lang", "ja"]
    )
    assert "[membership_pending] LINK-Jの会員資格は確認待ちです。" in pending.output


def test_eligibility_of_an_unknown_address_fails(app: Flask, story: Story) -> None:
    result = app.test_cli_runner().invoke(args=["benefits", "eligibility", "nobody@example.org"])

    assert result.exit_code != 0
    assert "no account with the address nobody@example.org" in result.output


def test_report_writes_the_csv_excel_opens(app: Flask, story: Story, tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "report.csv"

    result = app.test_cli_runner().invoke(
        args=[
            "benefits",
            "report",
            "--period",
            "year",
            "--mou",
            "link-j-one-nucleus-2017",
            "--output",
            str(target),
        ]
    )

    assert result.exit_code == 0, result.output
    content = target.read_bytes()
    assert content.startswith("\ufeffMOU,".encode())
    assert content.count(b"\r\n") == 1 + 2 * 5


def test_report_of_an_unknown_mou_fails(app: Flask, story: Story) -> None:
    result = app.test_cli_runner().invoke(args=["benefits", "report", "--mou", "nope"])

    assert result.exit_code != 0 and "no MOU with the slug nope" in result.output
