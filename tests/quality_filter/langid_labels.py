"""Human language labels of the shared multilingual data, from `commoncrawl/README.md`.

WARC: the 16 HTML responses of the multilingual CC WARC, table "judged language — evidence".
HPLT: the stored OpenLID labels of `hplt-cc-sample100.jsonl.zst` mapped to ISO 639-1, with the
README's three corrections (lines 1, 19, 65: the readers' judgement overrides the label) and
without line 66 ("too short to judge") and the two lines with no text and no label (62, 68):
97 lines. Used by the tests and by `bench/langid_quality.py`.
"""

from __future__ import annotations

# README, multilingual WARC table: "Chinese 11, German 2, Russian 1, Dutch 1, mixed 1".
WARC_JUDGED = {
    "http://003338.cn/l41/481397.html": {"zh"},
    "http://01spb.ru/company/": {"ru"},
    "http://035.psb556.com/24/i/u_1090813/article.html": {"zh"},
    "http://037426.cn/": {"zh", "en"},  # mixed: Chinese spam title, English body
    "http://041696.com/15477/list_6_4.html": {"zh"},
    "http://044545.com/topic/20200207/015849.html": {"zh"},
    "http://0513mt.com/index.php/art/detail/id/8884.html": {"zh"},
    "http://05925.net/index.php/vod/type/id/53.html": {"zh"},
    "http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html": {"de"},
    "http://06.live-radsport.ch/tippspiel/stats_140_petzi.html": {"de"},
    "http://0615235.com/02mjqjo%7Bibotij2.btq?odmbtt=106&tdmbtt=121": {"zh"},
    "http://0755krk.com/76104/list_4_1.html": {"zh"},
    "http://0760.jxtdw.com/area/sanxiang/": {"zh"},
    "http://077678u.info/erxiaoshujinguang/list_6_2.html": {"zh"},
    "http://0900-hovenier.nl/gelderland/oosterbeek/": {"nl"},
    "http://096355.com/video/11073.html?11073-0-2": {"zh"},
}

# OpenLID's labels in the sample (README: "lang labels (as stored)") → ISO 639-1.
OPENLID_TO_ISO = {
    "eng_Latn": "en", "deu_Latn": "de", "jpn_Jpan": "ja", "spa_Latn": "es", "rus_Cyrl": "ru",
    "zho_Hant": "zh", "zho_Hans": "zh", "dan_Latn": "da", "fra_Latn": "fr", "ita_Latn": "it",
    "kor_Hang": "ko", "por_Latn": "pt", "ron_Latn": "ro", "arb_Arab": "ar", "bos_Latn": "bs",
    "bul_Cyrl": "bg", "ces_Latn": "cs", "mya_Mymr": "my", "nld_Latn": "nl", "slk_Latn": "sk",
    "srp_Cyrl": "sr", "swe_Latn": "sv", "tat_Cyrl": "tt",
}
# README, HPLT table: where the stored label is wrong (Czech, Russian, English).
HPLT_CORRECTIONS = {1: "cs", 19: "ru", 65: "en"}
HPLT_UNJUDGEABLE = {66}


def hplt_reference(lines: tuple[dict, ...]) -> dict[int, str]:
    """1-based line number → corrected ISO 639-1 label, for the 97 labelled, judgeable lines."""
    return {n: HPLT_CORRECTIONS.get(n, OPENLID_TO_ISO[line["lang"]])
            for n, line in enumerate(lines, start=1)
            if line.get("lang") and n not in HPLT_UNJUDGEABLE}
