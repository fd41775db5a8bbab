"""PII placeholders on written examples and on real crawl pages.

Real-page counts were found by reading the page text: 01spb.ru (multilingual WARC, page 2)
shows its contact block twice ("+7 (926) 081-55-07", "kda21@yandex.ru" in the header and the
footer); HPLT line 1 (skiarealdomasov.cz) is three lines, 118 characters: "Telefon : 731 186
549, 775 576 767, 608 767 672", "skiarealdomasov@seznam.cz", "© 2018 eStránky.cz | …".
"""

import pytest

from crawl2gpt.quality_filter.heuristics_config import PiiConfig
from crawl2gpt.quality_filter.pii import scrub
from tests.quality_filter.heuristics_data import hplt_lines, multilingual_warc_pages


@pytest.mark.parametrize("text, scrubbed, counts", [
    ("Write to john.doe+news@mail.example.co.uk today.", "Write to <EMAIL> today.",
     {"email": 1}),
    ("Hosts 192.168.0.1 and 10.0.0.255 answered.", "Hosts <IP_ADDRESS> and <IP_ADDRESS> answered.",
     {"ip_address": 2}),
    ("Reach 2001:db8::8a2e:370:7334 or ::1 now.", "Reach <IP_ADDRESS> or <IP_ADDRESS> now.",
     {"ip_address": 2}),
    ("Call (555) 123-4567 or +44 20 7946 0958.", "Call <PHONE_NUMBER> or <PHONE_NUMBER>.",
     {"phone_number": 2}),
])
def test_each_kind_is_replaced_and_counted(text, scrubbed, counts):
    assert scrub(text, PiiConfig()) == (scrubbed, counts)


@pytest.mark.parametrize("text", [
    "Version 1.2.3.4.5 and 256.1.1.1 are not addresses.",
    "On 2020-08-08 12:00 the years 1990-2000 were listed, ISBN 978-3-16-148410-0.",
    "Population 4,933,210 in 2019; 1 500 000 people; time 10:30:00; std::vector.",
])
def test_numbers_that_are_not_pii_stay(text):
    assert scrub(text, PiiConfig()) == (text, {})


def test_kinds_can_be_switched_off():
    text = "Mail a@b.org or call +1 555 123 4567."
    assert scrub(text, PiiConfig(email=False)) == ("Mail a@b.org or call <PHONE_NUMBER>.",
                                                   {"phone_number": 1})
    assert scrub(text, PiiConfig(email=False, phone_number=False)) == (text, {})


def test_real_russian_page_contacts(shared_data):
    page = multilingual_warc_pages(shared_data)["http://01spb.ru/company/"].text
    assert page.count("kda21@yandex.ru") == 2 and page.count("+7 (926) 081-55-07") == 2
    scrubbed, counts = scrub(page, PiiConfig())
    assert counts == {"email": 2, "phone_number": 2}
    assert "kda21@yandex.ru" not in scrubbed and "081-55-07" not in scrubbed


def test_real_czech_page_contacts(shared_data):
    text = hplt_lines(shared_data)[0]["t"]
    scrubbed, counts = scrub(text, PiiConfig())
    assert counts == {"email": 1, "phone_number": 3}
    assert scrubbed.split("\n")[:2] == [
        "Telefon : <PHONE_NUMBER>, <PHONE_NUMBER>, <PHONE_NUMBER>", "<EMAIL>"]
