"""The LINK-J network as the seed document (LINK-J press release, January 2018) states it.

Kept as plain data so ``portal seed`` can load it idempotently and tests can compare
against it. Texts are given in Japanese as the document words them and in English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from portal.organizations.models import ServiceCategory as C


@dataclass(frozen=True)
class OrganizationSeed:
    slug: str
    kind: str
    short_name: str
    name_en: str
    name_ja: str
    country: str
    city_en: str
    city_ja: str
    website: str
    timezone: str
    default_currency: str
    membership_year_end_month: int
    description_en: str
    description_ja: str


@dataclass(frozen=True)
class ClauseSeed:
    category: C
    #: False for a clause that runs one way only; then ``provider`` says which way.
    reciprocal: bool = True
    provider: str | None = None


@dataclass(frozen=True)
class AgreementSeed:
    slug: str
    partner: str
    signed_on: date
    summary_en: str
    summary_ja: str
    clauses: tuple[ClauseSeed, ...] = field(default_factory=tuple)


HUB_SLUG = "link-j"

ORGANIZATIONS: tuple[OrganizationSeed, ...] = (
    OrganizationSeed(
        slug=HUB_SLUG,
        kind="hub",
        short_name="LINK-J",
        name_en="Life Science Innovation Network Japan (LINK-J)",
        name_ja="一般社団法人ライフサイエンス・イノベーション・ネットワーク・ジャパン（LINK-J）",
        country="JP",
        city_en="Nihonbashi, Tokyo",
        city_ja="東京都中央区日本橋本町",
        website="https://www.link-j.org/",
        timezone="Asia/Tokyo",
        default_currency="JPY",
        membership_year_end_month=3,
        description_en=(
            "A general incorporated association founded by Mitsui Fudosan and academic "
            "volunteers to foster open innovation in the life sciences from Nihonbashi, "
            "Tokyo's pharmaceutical district. Chair: Hideyuki Okano. More than 190 corporate "
            "and individual members about eighteen months after membership opened."
        ),
        description_ja=(
            "三井不動産株式会社とアカデミア有志が中心となって設立した一般社団法人です。"
            "医薬関連企業が集積する日本橋エリアを拠点に、産官学連携によるライフサイエンス領域での"
            "オープンイノベーションを促進し、新産業創造を支援しています。理事長：岡野 栄之。"
            "会員数は募集開始後約1年半で、法人・個人含めて190を超えました。"
        ),
    ),
    OrganizationSeed(
        slug="ucsd",
        kind="partner",
        short_name="UCSD",
        name_en="University of California San Diego",
        name_ja="カリフォルニア大学サンディエゴ校",
        country="US",
        city_en="La Jolla, San Diego",
        city_ja="サンディエゴ（ラホヤ）",
        website="https://ucsd.edu/",
        timezone="America/Los_Angeles",
        default_currency="USD",
        membership_year_end_month=6,
        description_en="A public research university at the heart of San Diego's life-science cluster.",
        description_ja="サンディエゴのライフサイエンス・クラスターの中核を担う公立研究大学です。",
    ),
    OrganizationSeed(
        slug="biocom",
        kind="partner",
        short_name="BIOCOM",
        name_en="BIOCOM",
        name_ja="BIOCOM（バイオコム）",
        country="US",
        city_en="San Diego",
        city_ja="サンディエゴ",
        website="https://www.biocom.org/",
        timezone="America/Los_Angeles",
        default_currency="USD",
        membership_year_end_month=12,
        description_en="The life-science industry association of San Diego, California.",
        description_ja="米国カリフォルニア州サンディエゴのライフサイエンス団体です。",
    ),
    OrganizationSeed(
        slug="eurobiomed",
        kind="partner",
        short_name="Eurobiomed",
        name_en="Eurobiomed",
        name_ja="Eurobiomed（ユーロバイオメッド）",
        country="FR",
        city_en="Marseille",
        city_ja="マルセイユ",
        website="https://www.eurobiomed.org/",
        timezone="Europe/Paris",
        default_currency="EUR",
        membership_year_end_month=12,
        description_en="The life-science cluster of southern France.",
        description_ja="南フランスのライフサイエンス団体（クラスター）です。",
    ),
    OrganizationSeed(
        slug="krp",
        kind="partner",
        short_name="KRP",
        name_en="Kyoto Research Park Co., Ltd.",
        name_ja="京都リサーチパーク株式会社",
        country="JP",
        city_en="Kyoto",
        city_ja="京都市",
        website="https://www.krp.co.jp/",
        timezone="Asia/Tokyo",
        default_currency="JPY",
        membership_year_end_month=3,
        description_en="Japan's first privately run research park.",
        description_ja="全国初の民間運営によるリサーチパークです。",
    ),
    OrganizationSeed(
        slug="one-nucleus",
        kind="partner",
        short_name="One Nucleus",
        name_en="One Nucleus",
        name_ja="One Nucleus（ワン・ニュークリアス）",
        country="GB",
        city_en="Cambridge",
        city_ja="ケンブリッジ",
        website="https://www.onenucleus.com/",
        timezone="Europe/London",
        default_currency="GBP",
        membership_year_end_month=12,
        description_en="The largest life-science association of the United Kingdom and Europe.",
        description_ja="欧州最大規模の英国ライフサイエンス団体です。",
    ),
    OrganizationSeed(
        slug="ibri",
        kind="partner",
        short_name="IBRI",
        name_en="Foundation for Biomedical Research and Innovation at Kobe (IBRI)",
        name_ja="公益財団法人 先端医療振興財団",
        country="JP",
        city_en="Kobe",
        city_ja="兵庫県神戸市",
        website="https://www.ibri-kobe.org/",
        timezone="Asia/Tokyo",
        default_currency="JPY",
        membership_year_end_month=3,
        description_en=(
            "Founded in March 2000 by Kobe City and Hyogo Prefecture as the core support "
            "organization of the Kobe Biomedical Innovation Cluster, Japan's largest, where "
            "more than 344 companies and organizations gathered by January 2018. "
            "Chair: Tasuku Honjo."
        ),
        description_ja=(
            "神戸医療産業都市を推進するための中核的支援機関として、2000年3月に神戸市・兵庫県の"
            "出捐で設立されました。神戸医療産業都市には344社を超える医療関連企業・団体が集積して"
            "います（2018年1月末時点）。理事長：本庶 佑。"
        ),
    ),
    OrganizationSeed(
        slug="kobe-city",
        kind="host",
        short_name="Kobe City",
        name_en="Kobe City",
        name_ja="神戸市",
        country="JP",
        city_en="Kobe",
        city_ja="兵庫県神戸市",
        website="https://www.city.kobe.lg.jp/",
        timezone="Asia/Tokyo",
        default_currency="JPY",
        membership_year_end_month=3,
        description_en=(
            "The city that promotes the Kobe Biomedical Innovation Cluster, with IBRI at its "
            "core. It belongs to the network without an MOU: it hosted the Regenerative "
            "Medicine Industrialisation Forum in Nihonbashi in October 2017, co-hosted by IBRI "
            "and LINK-J."
        ),
        description_ja=(
            "先端医療振興財団を中核とする神戸医療産業都市を推進する市です。覚書は結んでいませんが、"
            "2017年10月に日本橋で再生医療産業化フォーラムを主催しました（先端医療振興財団、LINK-J共催）。"
        ),
    ),
)

#: Same clauses for BIOCOM, Eurobiomed and One Nucleus, as the document lists them.
_ASSOCIATION_CLAUSES = (
    ClauseSeed(C.MEMBER_SERVICES),
    ClauseSeed(C.PUBLICATIONS),
    ClauseSeed(C.PROGRAMS_EVENTS),
)

AGREEMENTS: tuple[AgreementSeed, ...] = (
    AgreementSeed(
        slug="link-j-ucsd-2016",
        partner="ucsd",
        signed_on=date(2016, 5, 1),
        summary_en=(
            "Exchange of publications, materials and information; mutual hosting of programs "
            "and events; symposia in Nihonbashi with invited eminent professors."
        ),
        summary_ja="刊行物、資料、情報の交換／プログラムやイベントの相互開催／著名な教授を招聘したシンポジウムを日本橋で開催 等",
        clauses=(
            ClauseSeed(C.PUBLICATIONS),
            ClauseSeed(C.PROGRAMS_EVENTS),
            # The symposia are UCSD's professors coming to Nihonbashi: one direction only.
            ClauseSeed(C.SYMPOSIA, reciprocal=False, provider="ucsd"),
        ),
    ),
    AgreementSeed(
        slug="link-j-biocom-2016",
        partner="biocom",
        signed_on=date(2016, 5, 1),
        summary_en=(
            "Services to each other's members; exchange of publications, materials and "
            "information; mutual hosting of programs and events."
        ),
        summary_ja="双方の会員へのサービス提供／刊行物、資料、情報の交換／プログラムやイベントの相互開催 等",
        clauses=_ASSOCIATION_CLAUSES,
    ),
    AgreementSeed(
        slug="link-j-eurobiomed-2017",
        partner="eurobiomed",
        signed_on=date(2017, 6, 1),
        summary_en=(
            "Services to each other's members; exchange of publications, materials and "
            "information; mutual hosting of programs and events."
        ),
        summary_ja="双方の会員へのサービス提供／刊行物、資料、情報の交換／プログラムやイベントの相互開催 等",
        clauses=_ASSOCIATION_CLAUSES,
    ),
    AgreementSeed(
        slug="link-j-krp-2017",
        partner="krp",
        signed_on=date(2017, 7, 1),
        summary_en=(
            "Co-hosting, sponsorship and announcement of each other's activities, events and "
            "programs; exchange of publications, materials and information; mutual visits."
        ),
        summary_ja="活動、イベント、プログラム等における共催、協賛、告知等の協力／刊行物、資料、情報の交換／相互訪問 等",
        clauses=(
            ClauseSeed(C.COHOSTING),
            ClauseSeed(C.PUBLICATIONS),
            ClauseSeed(C.MUTUAL_VISITS),
        ),
    ),
    AgreementSeed(
        slug="link-j-one-nucleus-2017",
        partner="one-nucleus",
        signed_on=date(2017, 12, 1),
        summary_en=(
            "Services to each other's members; exchange of publications, materials and "
            "information; mutual hosting of programs and events."
        ),
        summary_ja="双方の会員へのサービス提供／刊行物、資料、情報の交換／プログラムやイベントの相互開催 等",
        clauses=_ASSOCIATION_CLAUSES,
    ),
    AgreementSeed(
        slug="link-j-ibri-2018",
        partner="ibri",
        signed_on=date(2018, 1, 1),
        summary_en=(
            "Events, personnel exchange and information exchange together with Kobe City and "
            "the Kobe Biomedical Innovation Cluster, to advance the commercialisation of "
            "regenerative medicine and other life-science fields."
        ),
        summary_ja=(
            "神戸医療産業都市ならびに神戸市と連携し、イベントや人的交流、情報交換を通じて、"
            "再生医療等のライフサイエンス領域の事業化・産業化を後押しします。"
        ),
        clauses=(
            ClauseSeed(C.PROGRAMS_EVENTS),
            ClauseSeed(C.PERSONNEL_EXCHANGE),
            ClauseSeed(C.PUBLICATIONS),
        ),
    ),
)


@dataclass(frozen=True)
class ClauseText:
    title_en: str
    title_ja: str
    #: Formatted with ``provider`` and ``beneficiary`` (short names).
    description_en: str
    description_ja: str
    claimable: bool


CLAUSE_TEXTS: dict[C, ClauseText] = {
    C.MEMBER_SERVICES: ClauseText(
        "Services for members",
        "会員へのサービス提供",
        "{provider} extends its member services to {beneficiary} members: member rates and "
        "introductions, on request.",
        "{provider}は{beneficiary}の会員に、会員向けサービス（会員料金、紹介など）を申請に応じて提供します。",
        claimable=True,
    ),
    C.PUBLICATIONS: ClauseText(
        "Publications, materials and information",
        "刊行物、資料、情報の交換",
        "{provider} shares its publications, materials and information with {beneficiary} "
        "and its members.",
        "{provider}は刊行物、資料、情報を{beneficiary}およびその会員と共有します。",
        claimable=True,
    ),
    C.PROGRAMS_EVENTS: ClauseText(
        "Programs and events",
        "プログラムやイベントの相互開催",
        "{provider} opens and co-hosts its programs and events for {beneficiary} members.",
        "{provider}は{beneficiary}の会員にプログラムやイベントを開放し、相互に開催します。",
        claimable=False,
    ),
    C.COHOSTING: ClauseText(
        "Co-hosting, sponsorship and announcements",
        "共催、協賛、告知等の協力",
        "{provider} co-hosts, sponsors and announces {beneficiary}'s activities, events and "
        "programs.",
        "{provider}は{beneficiary}の活動、イベント、プログラム等の共催、協賛、告知に協力します。",
        claimable=False,
    ),
    C.MUTUAL_VISITS: ClauseText(
        "Mutual visits",
        "相互訪問",
        "{provider} receives visits from {beneficiary} and its members.",
        "{provider}は{beneficiary}およびその会員の訪問を受け入れます。",
        claimable=True,
    ),
    C.SYMPOSIA: ClauseText(
        "Symposia in Nihonbashi with eminent professors",
        "著名な教授を招聘した日本橋でのシンポジウム",
        "{provider} sends eminent professors to symposia held in Nihonbashi for {beneficiary} "
        "members.",
        "{provider}は著名な教授を招聘し、{beneficiary}の会員向けに日本橋でシンポジウムを開催します。",
        claimable=False,
    ),
    C.PERSONNEL_EXCHANGE: ClauseText(
        "Personnel exchange",
        "人的交流",
        "{provider} takes part in personnel exchange with {beneficiary}, including Kobe City "
        "and the Kobe Biomedical Innovation Cluster.",
        "{provider}は神戸市・神戸医療産業都市を含め、{beneficiary}との人的交流を行います。",
        claimable=False,
    ),
}


@dataclass(frozen=True)
class Instructions:
    """What a member granted a service does to use it: whom to contact, what to give or bring,
    how to book. Formatted with ``provider``, ``beneficiary`` (short names) and ``website``."""

    en: str
    ja: str


_LINK_J_CONTACT_EN = "through the contact form on {website}"
_LINK_J_CONTACT_JA = "{website} のお問い合わせフォームから"

#: For a claimable clause, by (provider slug, category); partners' other clauses use
#: ``_PARTNER_INSTRUCTIONS`` by category.
_INSTRUCTIONS: dict[tuple[str, C], Instructions] = {
    (HUB_SLUG, C.MEMBER_SERVICES): Instructions(
        "LINK-J's secretariat arranges the service for you. Write to the secretariat "
        + _LINK_J_CONTACT_EN
        + " with your {beneficiary} membership number, your organization and what you need: "
        "a LINK-J event at the member rate, or an introduction to LINK-J members working in "
        "your field. The secretariat answers within five working days with a booking code or "
        "a meeting time. For a meeting, come to the LINK-J reception on the 3rd floor of the "
        "Nihonbashi Life Science Building (Nihonbashi-honcho, Chuo-ku, Tokyo) with your "
        "business cards.",
        "LINK-J事務局がご案内します。"
        + _LINK_J_CONTACT_JA
        + "、{beneficiary}の会員番号、ご所属、ご希望の内容（LINK-J主催イベントへの会員料金での参加、"
        "同じ分野のLINK-J会員のご紹介など）を事務局へお知らせください。5営業日以内に、予約用のコード"
        "または面談の日時をご連絡します。面談の当日は、名刺をお持ちのうえ日本橋ライフサイエンス"
        "ビルディング3階（東京都中央区日本橋本町）のLINK-J受付へお越しください。",
    ),
    (HUB_SLUG, C.PUBLICATIONS): Instructions(
        "Register for LINK-J's newsletter on {website} with the address you use on this portal: "
        "it brings LINK-J's event reports and seminar news. For a particular report or seminar "
        "material, write to LINK-J's secretariat "
        + _LINK_J_CONTACT_EN
        + " with your {beneficiary} membership number and what you are looking for; it is sent "
        "to you by e-mail. Materials are for your own work: ask the secretariat before passing "
        "them on.",
        "{website} で、このポータルと同じメールアドレスをLINK-Jのメールマガジンに登録してください。"
        "イベントレポートやセミナーのお知らせが届きます。特定のレポートやセミナー資料をご希望の場合は、"
        + _LINK_J_CONTACT_JA
        + "、{beneficiary}の会員番号とご希望の資料をLINK-J事務局へお知らせください。"
        "メールでお送りします。資料はご自身の業務のためにお使いいただき、第三者への提供は事前に"
        "事務局へご相談ください。",
    ),
    (HUB_SLUG, C.MUTUAL_VISITS): Instructions(
        "Ask LINK-J's secretariat for your visit at least two weeks ahead, "
        + _LINK_J_CONTACT_EN
        + ": the day you would like, the visitors' names and organizations (saying that you "
        "come from {beneficiary} or as one of its members), and what you want to see or whom "
        "you want to meet. The secretariat confirms the time and who receives you. "
        "On the day, come to the LINK-J reception on the 3rd floor of the Nihonbashi Life "
        "Science Building (Nihonbashi-honcho, Chuo-ku, Tokyo) with your business cards.",
        "ご訪問の2週間前までに、"
        + _LINK_J_CONTACT_JA
        + "LINK-J事務局へお申し込みください。ご希望の日、訪問者のお名前とご所属（{beneficiary}"
        "またはその会員であること）、見学や面談を"
        "ご希望の内容をお知らせいただければ、事務局から日時と担当者をご連絡します。当日は名刺を"
        "お持ちのうえ、日本橋ライフサイエンスビルディング3階（東京都中央区日本橋本町）のLINK-J受付へ"
        "お越しください。",
    ),
    ("ucsd", C.PUBLICATIONS): Instructions(
        "Ask UC San Diego for its research news, reports and the materials of its faculty's "
        "symposia through the contact page of {website}, writing in English: say that you are "
        "a {beneficiary} member, give your {beneficiary} membership number, your organization "
        "and the research field or publication you are interested in. UC San Diego adds you to "
        "its mailing list or sends the material by e-mail. Materials are for your own work: "
        "ask UC San Diego before passing them on.",
        "{website} のお問い合わせページから、英語でUCサンディエゴへお申し込みください。"
        "{beneficiary}会員であること、{beneficiary}の会員番号、ご所属、ご関心の研究分野や刊行物を"
        "お知らせいただければ、研究ニュース・レポート・教員によるシンポジウムの資料の配信リストに"
        "登録されるか、メールで資料が届きます。資料はご自身の業務のためにお使いいただき、第三者への"
        "提供は事前にUCサンディエゴへご相談ください。",
    ),
    ("krp", C.PUBLICATIONS): Instructions(
        "Ask Kyoto Research Park for its newsletter and the reports of its incubation and "
        "business-matching programmes through the contact page of {website}: say that you are "
        "a {beneficiary} member and give your {beneficiary} membership number and the subject "
        "you are interested in. KRP adds you to its mailing list or sends the material by "
        "e-mail. Materials are for your own work: ask KRP before passing them on.",
        "{website} のお問い合わせページから、京都リサーチパークへお申し込みください。"
        "{beneficiary}会員であること、{beneficiary}の会員番号、ご関心のテーマをお知らせいただければ、"
        "ニュースレターの配信リストに登録されるか、インキュベーションやビジネスマッチングの"
        "プログラムのレポートがメールで届きます。資料はご自身の業務のためにお使いいただき、第三者への"
        "提供は事前にKRPへご相談ください。",
    ),
    ("krp", C.MUTUAL_VISITS): Instructions(
        "Ask for your visit to Kyoto Research Park at least two weeks ahead through the contact "
        "page of {website}: the day you would like, the visitors' names and affiliations, your "
        "{beneficiary} membership number and what you want to see (laboratories and offices, "
        "incubation programmes, tenant companies). KRP confirms the time and the building to "
        "come to in Kyoto Research Park (Shimogyo-ku, Kyoto). Bring your business cards.",
        "ご訪問の2週間前までに、{website} のお問い合わせページから京都リサーチパークへ"
        "お申し込みください。ご希望の日、訪問者のお名前とご所属、{beneficiary}の会員番号、見学を"
        "ご希望の内容（ラボ・オフィス、インキュベーションプログラム、入居企業など）をお知らせ"
        "いただければ、KRPから日時と集合場所（京都市下京区の京都リサーチパーク内）をご連絡します。"
        "当日は名刺をお持ちください。",
    ),
    ("ibri", C.PUBLICATIONS): Instructions(
        "Ask IBRI for its reports on the Kobe Biomedical Innovation Cluster and on "
        "regenerative-medicine commercialisation through the contact page of {website}: say "
        "that you are a {beneficiary} member and give your {beneficiary} membership number and "
        "the field you are interested in. IBRI adds you to its mailing list or sends the "
        "material by e-mail. Materials are for your own work: ask IBRI before passing them on.",
        "{website} のお問い合わせページから、先端医療振興財団（IBRI）へお申し込みください。"
        "{beneficiary}会員であること、{beneficiary}の会員番号、ご関心の分野をお知らせいただければ、"
        "神戸医療産業都市や再生医療の事業化に関するレポートの配信リストに登録されるか、メールで資料が"
        "届きます。資料はご自身の業務のためにお使いいただき、第三者への提供は事前にIBRIへ"
        "ご相談ください。",
    ),
}

#: The associations' (BIOCOM, Eurobiomed, One Nucleus) clauses, and any partner's clause
#: without its own text above.
_PARTNER_INSTRUCTIONS: dict[C, Instructions] = {
    C.MEMBER_SERVICES: Instructions(
        "{provider} treats you as one of its own members for its member rates and "
        "introductions. Write in English to {provider}'s membership team through the contact "
        "page of {website}: say that you are a {beneficiary} member, give your "
        "{beneficiary} membership number, your company and what you need (one of its events at "
        "the member rate, an introduction to a member company). They reply within about a week "
        "with a booking code or a contact; show their confirmation when you register or attend.",
        "{provider}の会員料金や会員企業の紹介を、{provider}の会員と同じ条件でご利用いただけます。"
        "{website} のお問い合わせページから、英語で{provider}の会員担当へお申し込みください。"
        "{beneficiary}会員であること、{beneficiary}の会員番号、会社名、ご希望の内容（会員料金での"
        "イベント参加、会員企業のご紹介など）をお知らせいただければ、1週間程度で予約用のコードまたは"
        "担当者の連絡先が届きます。参加登録や当日の受付では、その確認メールをご提示ください。",
    ),
    C.PUBLICATIONS: Instructions(
        "Ask {provider} for its newsletter, reports and materials through the contact page of "
        "{website}, writing in English: say that you are a {beneficiary} member and give your "
        "{beneficiary} membership number and what you are interested in. {provider} adds you "
        "to its mailing list or sends the material by e-mail. Materials are for your own work: "
        "ask {provider} before passing them on.",
        "{website} のお問い合わせページから、英語で{provider}へお申し込みください。"
        "{beneficiary}会員であること、{beneficiary}の会員番号、ご関心の内容をお知らせいただければ、"
        "ニュースレターの配信リストに登録されるか、レポートや資料がメールで届きます。資料はご自身の"
        "業務のためにお使いいただき、第三者への提供は事前に{provider}へご相談ください。",
    ),
}

#: For a claimable service the seed knows no text for (added by staff to another MOU).
_ANY_SERVICE = Instructions(
    "Write to {provider} through the contact page of {website}: say that you are a "
    "{beneficiary} member, give your {beneficiary} membership number and the service you were "
    "granted. {provider} replies with how and when you can use it.",
    "{website} のお問い合わせページから{provider}へご連絡ください。{beneficiary}会員であること、"
    "{beneficiary}の会員番号、承認されたサービスの名称をお知らせいただければ、{provider}から"
    "利用方法と日程をご案内します。",
)


def instructions_for(
    provider_slug: str, category: str, *, provider: str, beneficiary: str, website: str
) -> tuple[str, str]:
    """(English, Japanese) instructions for a granted claim on the provider's service."""
    try:
        category_ = C(category)
    except ValueError:
        category_ = None
    text = _INSTRUCTIONS.get((provider_slug, category_))  # type: ignore[arg-type]
    if text is None and provider_slug != HUB_SLUG and category_ is not None:
        text = _PARTNER_INSTRUCTIONS.get(category_)
    text = text or _ANY_SERVICE
    names = {"provider": provider, "beneficiary": beneficiary, "website": website}
    return text.en.format(**names), text.ja.format(**names)
