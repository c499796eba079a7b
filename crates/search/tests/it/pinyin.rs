//! Pinyin input: full pinyin with or without spaces and initials find Chinese titles and
//! authors, always ranked after the exact (Han or Latin script) matches.

use search::analysis::pinyin_tokens_of;
use search::{CatalogIndex, Field, Matched, Query, SearchDoc, Sort};

use crate::common::test_index;

fn doc(id: &str, title: &str, authors: &[&str]) -> SearchDoc {
    SearchDoc { id: id.into(), title: title.into(), authors: authors.iter().map(|s| s.to_string()).collect(), ..SearchDoc::default() }
}

fn small_index() -> CatalogIndex {
    let index = CatalogIndex::open_in_ram().expect("index");
    let mut w = index.writer().expect("index");
    // Romanised only: an exact (Latin script) match of "lu xun".
    w.upsert(&doc("roman", "Lu Xun zhuan", &[])).expect("index");
    // Han only: found by pinyin.
    w.upsert(&doc("han-author", "吶喊", &["魯迅, 1881-1936"])).expect("index");
    w.upsert(&doc("han-title", "鲁迅与浙东文化", &["陈方竞"])).expect("index");
    w.upsert(&doc("museum", "回忆录", &["北京鲁迅博物馆"])).expect("index");
    w.upsert(&doc("bank", "中国银行史", &[])).expect("index");
    w.upsert(&doc("changan", "长安县志", &[])).expect("index");
    w.upsert(&doc("lv", "吕氏春秋", &[])).expect("index");
    w.upsert(&doc("other", "红楼梦", &["曹雪芹"])).expect("index");
    w.commit().expect("index");
    index
}

fn hits(index: &CatalogIndex, field: Field, text: &str) -> Vec<(String, Matched)> {
    let mut q = Query::new(field, text);
    q.limit = 50;
    index.search(&q).expect("index").hits.into_iter().map(|h| (h.id, h.matched)).collect()
}

fn ids(index: &CatalogIndex, field: Field, text: &str) -> Vec<String> {
    hits(index, field, text).into_iter().map(|(id, _)| id).collect()
}

#[test]
fn every_spelling_of_a_name_finds_it() {
    let index = small_index();
    for q in ["luxun", "lu xun", "Lu Xun", "LUXUN", "lu-xun", "lu'xun"] {
        let r = ids(&index, Field::Author, q);
        assert_eq!(r[0], "han-author", "{q}: {r:?}");
        assert!(r.contains(&"museum".to_string()), "{q}: {r:?}");
    }
    let r = ids(&index, Field::Title, "luxun");
    assert_eq!(r, vec!["han-title"]);
    // Initials: the whole name only.
    assert_eq!(ids(&index, Field::Author, "lx"), vec!["han-author"]);
    assert_eq!(ids(&index, Field::Any, "hlm"), vec!["other"]);
    assert_eq!(ids(&index, Field::Any, "cxq"), vec!["other"]);
    assert!(ids(&index, Field::Title, "lx").is_empty(), "initials of a title only match the whole title");
}

#[test]
fn exact_matches_rank_before_pinyin_matches() {
    let index = small_index();
    let r = hits(&index, Field::Any, "lu xun");
    assert_eq!(r[0], ("roman".to_string(), Matched::Text), "{r:?}");
    assert!(r[1..].iter().all(|(_, m)| *m == Matched::Pinyin), "{r:?}");
    assert_eq!(r.len(), 4);
    // Newest first keeps the tiers: exact matches first whatever their year.
    let mut q = Query::new(Field::Any, "lu xun");
    q.sort = Sort::Newest;
    assert_eq!(index.search(&q).unwrap().hits[0].id, "roman");
    // A Han query has no pinyin tier at all.
    assert!(hits(&index, Field::Any, "鲁迅").iter().all(|(_, m)| *m == Matched::Text));
}

#[test]
fn polyphonic_characters_are_found_by_every_reading() {
    let index = small_index();
    assert_eq!(ids(&index, Field::Title, "yinhang"), vec!["bank"]); // 行 read hang
    assert_eq!(ids(&index, Field::Title, "zhongguo yinhang shi"), vec!["bank"]);
    assert_eq!(ids(&index, Field::Title, "changan"), vec!["changan"]); // 长 read chang
    assert_eq!(ids(&index, Field::Title, "xian zhi"), vec!["changan"]);
    // ü typed as v or u.
    assert_eq!(ids(&index, Field::Title, "lvshi chunqiu"), vec!["lv"]);
    assert_eq!(ids(&index, Field::Title, "lushi chunqiu"), vec!["lv"]);
}

#[test]
fn one_syllable_and_english_words_do_not_flood() {
    let index = small_index();
    // One syllable would read as hundreds of characters: not searched as pinyin (the
    // romanised title has the word).
    assert_eq!(ids(&index, Field::Title, "lu"), vec!["roman"]);
    assert!(ids(&index, Field::Title, "wen").is_empty(), "文 of 浙东文化 is one syllable");
    assert!(ids(&index, Field::Any, "history").is_empty());
    assert_eq!(pinyin_tokens_of("鲁迅 Lu"), vec!["lu", "xun"]);
    assert_eq!(pinyin_tokens_of("吕"), vec!["lv", "lu"]);
}

#[test]
fn pinyin_on_the_real_records() {
    let index = test_index();
    // 鲁迅 wrote or is the main name of 00415215 and 00415410.
    for q in ["luxun", "Luxun"] {
        let r = ids(index, Field::Author, q);
        assert!(r[..2].contains(&"00415215".to_string()) && r[..2].contains(&"00415410".to_string()), "{q}: {r:?}");
    }
    // Spaced, the romanised heading "Lu, Xun" matches exactly, and 卢勋 has it too.
    let r = ids(index, Field::Author, "lu xun");
    assert!(r[..3].contains(&"00415215".to_string()) && r[..3].contains(&"00415410".to_string()), "{r:?}");
    let r = hits(index, Field::Author, "lx");
    assert!(r.iter().take(3).any(|(id, _)| id == "00415215"), "{r:?}");
    assert!(r.len() < 50, "initials must not flood: {}", r.len());
    assert!(r.iter().all(|(_, m)| *m == Matched::Initials));
    // Spaced syllables: romanised titles that have the words as a phrase first, then the
    // pinyin phrase matches, then the scattered words.
    let r = hits(index, Field::Title, "zhong guo jing ji");
    let first_pinyin = r.iter().position(|(_, m)| *m == Matched::Pinyin).expect("pinyin hits");
    let last_pinyin = r.iter().rposition(|(_, m)| *m == Matched::Pinyin).unwrap_or(0);
    assert!(r[first_pinyin..=last_pinyin].iter().all(|(_, m)| *m == Matched::Pinyin), "{r:?}");
    let scattered: Vec<&str> = r[last_pinyin + 1..].iter().map(|(id, _)| id.as_str()).collect();
    assert!(scattered.contains(&"00376393"), "共和国经济风云中的陈云 after the pinyin phrases: {r:?}");
    // 中国经济法 and 中国经済法 (two records) tie for first.
    assert!(["00310932", "00692374"].contains(&r[first_pinyin].0.as_str()), "{r:?}");
}
