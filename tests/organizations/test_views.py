"""The public network pages, in English and Japanese."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

pytestmark = pytest.mark.usefixtures("network")

JA = {"Accept-Language": "ja,en;q=0.5"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


def test_home_lists_the_hub_and_six_partners_in_english(client: FlaskClient) -> None:
    html = client.get("/", headers=EN).get_data(as_text=True)

    assert '<html lang="en">' in html
    assert "LINK-J and its partner network" in html
    for partner in (
        "University of California San Diego",
        "BIOCOM",
        "Eurobiomed",
        "Kyoto Research Park Co., Ltd.",
        "One Nucleus",
        "Foundation for Biomedical Research and Innovation at Kobe (IBRI)",
    ):
        assert partner in html
    assert "MOU signed January 2018" in html


def test_home_in_japanese(client: FlaskClient) -> None:
    html = client.get("/", headers=JA).get_data(as_text=True)

    assert '<html lang="ja">' in html
    assert "LINK-Jと提携団体のネットワーク" in html
    assert "公益財団法人 先端医療振興財団" in html
    assert "2018年1月に覚書締結" in html


def test_directory_filters_by_country(client: FlaskClient) -> None:
    html = client.get("/partners?country=us", headers=EN).get_data(as_text=True)

    assert "University of California San Diego" in html
    assert "BIOCOM" in html
    assert "Eurobiomed" not in html
    assert "2 partners" in html


def test_directory_ignores_an_unknown_country(client: FlaskClient) -> None:
    html = client.get("/partners?country=zz", headers=EN).get_data(as_text=True)

    assert "6 partners" in html


def test_directory_in_japanese_names_countries_in_japanese(client: FlaskClient) -> None:
    html = client.get("/partners?country=GB", headers=JA).get_data(as_text=True)

    assert "イギリス" in html
    assert "提携団体 1 件" in html


def test_partner_page_lists_services_in_both_directions(client: FlaskClient) -> None:
    html = client.get("/partners/biocom", headers=EN).get_data(as_text=True)

    assert "MOU between LINK-J and BIOCOM" in html
    assert "Signed May 2016" in html
    assert "What LINK-J members receive from BIOCOM" in html
    assert "What BIOCOM members receive from LINK-J" in html
    assert "BIOCOM extends its member services to LINK-J members" in html
    assert "LINK-J extends its member services to BIOCOM members" in html


def test_partner_page_in_japanese(client: FlaskClient) -> None:
    html = client.get("/partners/one-nucleus", headers=JA).get_data(as_text=True)

    assert "LINK-JとOne Nucleusの覚書" in html
    assert "2017年12月締結" in html
    assert "One NucleusからLINK-Jの会員へ提供されるサービス" in html
    assert "会員へのサービス提供" in html


def test_hub_page_lists_all_six_mous(client: FlaskClient) -> None:
    html = client.get("/partners/link-j", headers=EN).get_data(as_text=True)

    assert html.count('class="agreement"') == 6


def test_unknown_partner_answers_404_in_the_viewers_language(client: FlaskClient) -> None:
    english = client.get("/partners/nobody", headers=EN)
    japanese = client.get("/partners/nobody", headers=JA)

    assert english.status_code == japanese.status_code == 404
    assert "Page not found" in english.get_data(as_text=True)
    assert "ページが見つかりません" in japanese.get_data(as_text=True)


def test_mou_page_shows_parties_month_and_services(client: FlaskClient) -> None:
    html = client.get("/mou/link-j-ibri-2018", headers=EN).get_data(as_text=True)

    assert "January 2018" in html
    assert "Foundation for Biomedical Research and Innovation at Kobe (IBRI)" in html
    assert "What LINK-J members receive from IBRI" in html
    assert "Personnel exchange" in html
    assert "No end date" in html


def test_mou_page_in_japanese(client: FlaskClient) -> None:
    html = client.get("/mou/link-j-krp-2017", headers=JA).get_data(as_text=True)

    assert "2017年7月" in html
    assert "京都リサーチパーク株式会社" in html
    assert "相互訪問" in html


def test_unknown_mou_answers_404(client: FlaskClient) -> None:
    assert client.get("/mou/link-j-nobody-2030").status_code == 404
