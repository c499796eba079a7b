//! The CQL parser: examples from the CQL 1.2 specification and real SRU traffic, errors with
//! their positions, and round trips (Display → parse gives the same tree) over generated trees
//! and arbitrary strings.

use cql::{BoolOp, Comparitor, ErrorKind, Modifier, Node, Query, Relation, SearchClause, SortKey, parse};
use proptest::prelude::*;

fn clause(index: &str, rel: &str, term: &str) -> Node {
    let relation = if rel.chars().all(|c| c.is_ascii_alphabetic()) {
        Relation::named(rel)
    } else {
        Relation::symbol(Box::leak(rel.to_owned().into_boxed_str()))
    };
    Node::Clause(SearchClause::new(index, relation, term))
}

fn bare(term: &str) -> Node {
    Node::Clause(SearchClause::term(term))
}

fn and(l: Node, r: Node) -> Node {
    Node::Boolean { op: BoolOp::And, modifiers: vec![], left: Box::new(l), right: Box::new(r) }
}

fn or(l: Node, r: Node) -> Node {
    Node::Boolean { op: BoolOp::Or, modifiers: vec![], left: Box::new(l), right: Box::new(r) }
}

fn root(q: &str) -> Node {
    parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).root
}

#[test]
fn simple_terms_and_clauses() {
    assert_eq!(root("dinosaur"), bare("dinosaur"));
    assert_eq!(root("\"the complete dinosaur\""), bare("the complete dinosaur"));
    assert_eq!(root("title = dinosaur"), clause("title", "=", "dinosaur"));
    assert_eq!(root("dc.title=数据结构"), clause("dc.title", "=", "数据结构"));
    assert_eq!(root("dc.title == \"数据结构\""), clause("dc.title", "==", "数据结构"));
    assert_eq!(root("dc.creator ANY \"严蔚敏 吴伟民\""), clause("dc.creator", "any", "严蔚敏 吴伟民"));
    assert_eq!(root("dc.title all \"complete dinosaur\""), clause("dc.title", "all", "complete dinosaur"));
    assert_eq!(root("dc.title adj \"complete dinosaur\""), clause("dc.title", "adj", "complete dinosaur"));
    assert_eq!(root("bath.isbn=978-7-302-14751-0"), clause("bath.isbn", "=", "978-7-302-14751-0"));
    assert_eq!(root("dc.date >= 2000"), clause("dc.date", ">=", "2000"));
    assert_eq!(root("dc.date<>2000"), clause("dc.date", "<>", "2000"));
    assert_eq!(root("cql.serverChoice = \"\""), clause("cql.serverChoice", "=", ""));
}

#[test]
fn booleans_are_left_associative_and_parentheses_group() {
    assert_eq!(root("a and b or c"), or(and(bare("a"), bare("b")), bare("c")));
    assert_eq!(root("a and (b or c)"), and(bare("a"), or(bare("b"), bare("c"))));
    assert_eq!(root("((a))"), bare("a"));
    assert_eq!(
        root("dc.title = 数据结构 AND dc.creator = 严蔚敏"),
        and(clause("dc.title", "=", "数据结构"), clause("dc.creator", "=", "严蔚敏"))
    );
    let q = root("a NOT b prox/unit=word/distance>1 c");
    let Node::Boolean { op: BoolOp::Prox, modifiers, left, .. } = q else { panic!("prox expected") };
    assert_eq!(
        modifiers,
        vec![
            Modifier { name: "unit".into(), comparison: Some(("=", "word".into())) },
            Modifier { name: "distance".into(), comparison: Some((">", "1".into())) }
        ]
    );
    assert!(matches!(*left, Node::Boolean { op: BoolOp::Not, .. }));
}

#[test]
fn keywords_as_quoted_terms_and_relations_with_modifiers() {
    assert_eq!(root("\"and\""), bare("and"));
    assert_eq!(root("title = \"or\""), clause("title", "=", "or"));
    let Node::Clause(c) = root("dc.title =/relevant/stem fish") else { panic!() };
    let rel = c.relation.unwrap();
    assert_eq!(rel.comparitor, Comparitor::Symbol("="));
    assert_eq!(rel.modifiers.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["relevant", "stem"]);
}

#[test]
fn escapes_in_quoted_terms() {
    assert_eq!(root(r#""say \"hi\"""#), bare("say \"hi\""));
    assert_eq!(root(r#""back\\slash""#), bare("back\\slash"));
    // masking escapes reach the server as written
    assert_eq!(root(r#""star\*""#), bare("star\\*"));
}

#[test]
fn prefixes_and_sort() {
    let q = parse(r#"> dc = "info:srw/cql-context-set/1/dc-v1.1" dc.title = fish sortby dc.date/sort.descending dc.title"#).unwrap();
    let Node::Prefix { prefix, uri, node } = &q.root else { panic!() };
    assert_eq!(prefix.as_deref(), Some("dc"));
    assert_eq!(uri, "info:srw/cql-context-set/1/dc-v1.1");
    assert_eq!(**node, clause("dc.title", "=", "fish"));
    assert_eq!(
        q.sort,
        vec![
            SortKey { index: "dc.date".into(), modifiers: vec![Modifier { name: "sort.descending".into(), comparison: None }] },
            SortKey { index: "dc.title".into(), modifiers: vec![] }
        ]
    );
    let q = parse(r#">"http://x/set" fish"#).unwrap();
    assert!(matches!(q.root, Node::Prefix { prefix: None, .. }));
    let clauses = q.clauses();
    assert_eq!(clauses[0].1, vec![(None, "http://x/set")]);
}

#[test]
fn errors_say_what_and_where() {
    type Case = (&'static str, usize, fn(&ErrorKind) -> bool);
    let cases: &[Case] = &[
        ("", 0, |k| *k == ErrorKind::Empty),
        ("   ", 0, |k| *k == ErrorKind::Empty),
        ("dc.title = (", 11, |k| matches!(k, ErrorKind::ExpectedTerm(_))),
        ("title = \"open", 8, |k| *k == ErrorKind::UnterminatedQuote),
        ("(a and b", 8, |k| matches!(k, ErrorKind::ExpectedCloseParen(_))),
        ("a and b)", 7, |k| matches!(k, ErrorKind::Trailing(_))),
        ("a and", 5, |k| matches!(k, ErrorKind::ExpectedTerm(_))),
        ("dc.title any", 12, |k| matches!(k, ErrorKind::ExpectedTerm(_))),
        ("cat dog", 7, |k| matches!(k, ErrorKind::ExpectedTerm(_))),
        ("title ( x", 6, |k| matches!(k, ErrorKind::ExpectedRelation(..))),
        ("title =/ \"x\" y", 9, |k| matches!(k, ErrorKind::ExpectedModifier(_))),
        ("title =/ x", 10, |k| matches!(k, ErrorKind::ExpectedTerm(_))),
        ("> = x", 2, |k| matches!(k, ErrorKind::ExpectedPrefix(_))),
        ("x sortby", 8, |k| matches!(k, ErrorKind::ExpectedSortKey(_))),
        ("题名 = 三体 ) ", 16, |k| matches!(k, ErrorKind::Trailing(_))),
    ];
    for (q, pos, kind) in cases {
        let e = parse(q).expect_err(q);
        assert_eq!(e.pos, *pos, "{q}: {e}");
        assert!(kind(&e.kind), "{q}: {e:?}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn nesting_and_size_are_bounded() {
    let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
    assert!(matches!(parse(&deep).unwrap_err().kind, ErrorKind::TooDeep(_)));
    let ok = format!("{}a{}", "(".repeat(30), ")".repeat(30));
    assert!(parse(&ok).is_ok());
    let long = vec!["a"; 1000].join(" and ");
    assert!(matches!(parse(&long).unwrap_err().kind, ErrorKind::TooDeep(_)));
    assert!(parse(&vec!["a"; 200].join(" or ")).is_ok());
}

#[test]
fn display_writes_canonical_cql() {
    let q = parse("dc.title=\"数据 结构\" and (a or dc.creator any/relevant x) sortby dc.date").unwrap();
    assert_eq!(q.to_string(), "dc.title = \"数据 结构\" and (a or dc.creator any/relevant x) sortby dc.date");
    assert_eq!(parse(&q.to_string()).unwrap(), q);
    // left-associative chains need no parentheses; right operands and scoped prefixes do
    assert_eq!(parse("((a and b) or c) not d").unwrap().to_string(), "a and b or c not d");
    assert_eq!(parse("a and (> p = \"u\" p.x = 1)").unwrap().to_string(), "a and (> p = u p.x = 1)");
    assert_eq!(parse("(> u x) or y").unwrap().to_string(), "(> u x) or y");
}

/// What the fuzzer found: writing must never nest deeper than the query read (a chain of
/// prefixes, or of booleans, once came back with a parenthesis per level and hit the limit).
#[test]
fn written_queries_stay_within_the_nesting_limit() {
    let prefixes = format!("{}x", "> a ".repeat(60));
    let q = parse(&prefixes).unwrap();
    assert_eq!(parse(&q.to_string()).unwrap(), q);
    let chain = vec!["a"; 200].join(" and ");
    let q = parse(&chain).unwrap();
    assert_eq!(q.to_string(), chain);
    let crash = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz-found-deep-prefixes.bin")).unwrap();
    let text = String::from_utf8_lossy(&crash);
    if let Ok(q) = parse(&text) {
        assert_eq!(parse(&q.to_string()).unwrap(), q);
    }
}

// ---- generated trees ----

fn term() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,8}",
        "[\\u4e00-\\u4e20]{1,4}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        Just("and".to_owned()),
        Just("".to_owned()),
        Just("a \"b\" \\c".to_owned()),
    ]
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-zA-Z.]{0,10}"
        .prop_filter("not a keyword", |w| !["and", "or", "not", "prox", "sortby"].contains(&w.to_ascii_lowercase().as_str()))
}

fn modifier() -> impl Strategy<Value = Modifier> {
    (word(), proptest::option::of((prop_oneof![Just("="), Just(">"), Just("<="), Just("==")], term())))
        .prop_map(|(name, comparison)| Modifier { name, comparison })
}

fn relation() -> impl Strategy<Value = Relation> {
    let comparitor = prop_oneof![
        prop_oneof![Just("="), Just("=="), Just("<>"), Just("<"), Just(">"), Just("<="), Just(">=")].prop_map(Comparitor::Symbol),
        prop_oneof![Just("all"), Just("any"), Just("adj"), Just("within"), Just("cql.exact")]
            .prop_map(|s: &str| Comparitor::Named(s.into())),
    ];
    (comparitor, proptest::collection::vec(modifier(), 0..2)).prop_map(|(comparitor, modifiers)| Relation { comparitor, modifiers })
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        term().prop_map(|t| Node::Clause(SearchClause::term(t))),
        (word(), relation(), term()).prop_map(|(i, r, t)| Node::Clause(SearchClause::new(i, r, t))),
    ];
    leaf.prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            (
                prop_oneof![Just(BoolOp::And), Just(BoolOp::Or), Just(BoolOp::Not), Just(BoolOp::Prox)],
                proptest::collection::vec(modifier(), 0..2),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, modifiers, l, r)| Node::Boolean { op, modifiers, left: Box::new(l), right: Box::new(r) }),
            (proptest::option::of(term()), term(), inner).prop_map(|(prefix, uri, n)| { Node::Prefix { prefix, uri, node: Box::new(n) } }),
        ]
    })
}

proptest! {
    #[test]
    fn generated_trees_round_trip(root in node(), sort in proptest::collection::vec((word(), proptest::collection::vec(modifier(), 0..2)).prop_map(|(index, modifiers)| SortKey { index, modifiers }), 0..3)) {
        let q = Query { root, sort };
        let text = q.to_string();
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, q);
    }

    #[test]
    fn arbitrary_strings_never_panic_and_reparse(s in "[a-z()=<>/\" \\\\*.]{0,40}|\\PC{0,40}") {
        if let Ok(q) = parse(&s) {
            let text = q.to_string();
            let back = parse(&text);
            prop_assert_eq!(back.as_ref(), Ok(&q), "{} -> {}", s, text);
        } else if let Err(e) = parse(&s) {
            prop_assert!(e.pos <= s.len());
            prop_assert!(s.is_char_boundary(e.pos));
        }
    }
}
