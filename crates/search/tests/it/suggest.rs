//! "Did you mean" on the real records: misspelt English words, mistyped Han characters
//! in either script, and pinyin spelt out in Han.

use search::{Field, Query, Suggestion};

use crate::common::test_index;

fn suggest(field: Field, text: &str) -> Vec<Suggestion> {
    test_index().suggest(&Query::new(field, text)).expect("suggest")
}

fn first(field: Field, text: &str) -> Option<String> {
    suggest(field, text).into_iter().next().map(|s| s.text)
}

#[test]
fn misspelt_words_get_the_nearest_frequent_word() {
    assert_eq!(first(Field::Any, "libary").as_deref(), Some("library"));
    assert_eq!(first(Field::Title, "histroy of chinese medicin").as_deref(), Some("history of chinese medicine"));
    assert_eq!(first(Field::Any, "Casson libaries").as_deref(), Some("Casson libraries"));
    assert_eq!(first(Field::Any, "harapa").as_deref(), Some("harappa"), "distance 1 before distance 2");
    let s = suggest(Field::Any, "libary");
    assert!(s.iter().all(|s| s.hits > 0) && s.len() <= search::MAX_SUGGESTIONS);
    // The suggestion's count is what searching it gives.
    let hits = test_index().search(&Query::new(Field::Any, "library")).unwrap().total;
    assert_eq!(s[0].hits, hits);
}

#[test]
fn a_mistyped_han_character_is_replaced_by_a_homophone_in_the_readers_script() {
    assert_eq!(first(Field::Author, "鲁讯").as_deref(), Some("鲁迅"));
    assert_eq!(first(Field::Title, "台湾经齐").as_deref(), Some("台湾经济"));
    assert_eq!(first(Field::Title, "臺灣經齊").as_deref(), Some("臺灣經濟"));
    assert_eq!(first(Field::Any, "贾平娃 我是农民").as_deref(), Some("贾平凹 我是农民"));
}

#[test]
fn pinyin_is_spelt_in_han() {
    assert_eq!(first(Field::Author, "luxun").as_deref(), Some("鲁迅"));
    assert_eq!(first(Field::Any, "zhongguo jingji").as_deref(), Some("中国经济"));
    assert_eq!(first(Field::Title, "hongloumeng").as_deref(), Some("红楼梦"));
}

#[test]
fn nothing_to_suggest() {
    // Every word is indexed and the query is no pinyin.
    assert!(suggest(Field::Any, "library").is_empty());
    assert!(suggest(Field::Title, "中国").is_empty());
    assert!(suggest(Field::Isbn, "7562005990").is_empty());
    assert!(suggest(Field::CallNumber, "PL2303").is_empty());
    assert!(suggest(Field::Any, "").is_empty());
    assert!(suggest(Field::Any, "qqqqqqqqqq zzzzzzzzz").is_empty());
    let long = "图书馆 libary ".repeat(200);
    assert!(suggest(Field::Any, &long).len() <= search::MAX_SUGGESTIONS);
}
