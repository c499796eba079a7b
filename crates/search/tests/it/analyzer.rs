//! The analyzer: what the index stores for a text, and that queries meet it.

use search::analysis::{normalize, plain_key, seq_tokens, words_tokens};

#[test]
fn traditional_folds_to_simplified_at_index_and_query_time() {
    assert_eq!(normalize("臺灣經濟發展"), "台湾经济发展");
    assert_eq!(words_tokens("國際關係"), words_tokens("国际关系"));
    assert_eq!(seq_tokens("魯迅"), vec!["鲁", "鲁迅", "迅"]);
}

#[test]
fn jieba_search_mode_without_hmm() {
    assert_eq!(words_tokens("图书馆学导论"), vec!["图书", "书馆", "图书馆", "图书馆学", "导论"]);
}

#[test]
fn han_unigrams_and_bigrams_share_positions() {
    assert_eq!(seq_tokens("国际关系"), vec!["国", "国际", "际", "际关", "关", "关系", "系"]);
}

#[test]
fn mixed_chinese_english_title() {
    assert_eq!(words_tokens("C语言程序设计（第2版）"), vec!["c", "语言", "程序", "设计", "程序设计", "第", "2", "版"]);
    assert_eq!(words_tokens("Java编程思想 = Thinking in Java"), vec!["java", "编程", "思想", "thinking", "in", "java"]);
}

#[test]
fn accented_latin_is_one_folded_token() {
    // The LC records store accents decomposed (NFD); queries come composed or bare.
    let nfd = "La lo\u{301}gica";
    assert_eq!(words_tokens(nfd), vec!["la", "logica"]);
    assert_eq!(words_tokens("La lógica"), words_tokens("la logica"));
    assert_eq!(seq_tokens("Pěchota Ærø"), vec!["pechota", "aero"]);
    assert_eq!(words_tokens("eriḳah"), vec!["erikah"]);
    assert_eq!(words_tokens("Qurʼān"), vec!["quran"]);
}

#[test]
fn apostrophes_split() {
    assert_eq!(seq_tokens("d'Oujon"), vec!["d", "oujon"]);
    assert_eq!(seq_tokens("L’arte"), vec!["l", "arte"]);
    assert_eq!(seq_tokens("Zhang Zhi'an"), vec!["zhang", "zhi", "an"]);
    // The words field also has the joined compound.
    assert_eq!(words_tokens("d'Oujon"), vec!["d", "doujon", "oujon"]);
    assert_eq!(words_tokens("e-commerce"), vec!["e", "ecommerce", "commerce"]);
    assert_eq!(words_tokens("e - commerce"), vec!["e", "commerce"]);
}

#[test]
fn punctuation_and_whitespace_only_separate() {
    assert_eq!(
        seq_tokens("Logic : an introduction / by J. Smith. -- 2nd ed."),
        vec!["logic", "an", "introduction", "by", "j", "smith", "2nd", "ed"]
    );
    assert_eq!(words_tokens("《红楼梦》：研究！"), vec!["红楼", "红楼梦", "研究"]);
    assert!(words_tokens(" ,.;: ——「」 ").is_empty());
}

#[test]
fn english_stemming_in_words_not_in_seq() {
    assert_eq!(words_tokens("libraries"), words_tokens("library"));
    assert_eq!(words_tokens("Libraries"), vec!["library"]);
    // Only plurals fold: not informal/information/informe, not universities/universal.
    assert_ne!(words_tokens("informal"), words_tokens("information"));
    assert_ne!(words_tokens("informal"), words_tokens("informe"));
    assert_ne!(words_tokens("universities"), words_tokens("universal"));
    assert_eq!(words_tokens("universities"), words_tokens("university"));
    assert_eq!(seq_tokens("Libraries"), vec!["libraries"]);
}

#[test]
fn overlong_tokens_are_dropped() {
    let long = "a".repeat(80);
    assert_eq!(words_tokens(&format!("{long} short")), vec!["short"]);
}

#[test]
fn full_width_forms_fold() {
    assert_eq!(words_tokens("ＩＢＭ　ＰＣ"), vec!["ibm", "pc"]);
}

#[test]
fn plain_keys() {
    assert_eq!(plain_key("Gone with the Wind."), "gone with the wind");
    assert_eq!(plain_key("臺灣 經濟"), "台湾 经济");
}
