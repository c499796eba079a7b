//! Facets, filters and hit ids, on the real records and on small hand-made indexes.

use search::{CatalogIndex, Field, Filters, Query, SearchDoc, SearchOptions, Sort, YearRange};

use crate::common::test_index;

fn faceted() -> SearchOptions {
    SearchOptions { facets: true, ..SearchOptions::default() }
}

#[test]
fn facets_count_every_hit_not_just_the_page() {
    let index = test_index();
    let q = Query::new(Field::Any, "history");
    let page = index.search_with(&q, &faceted()).unwrap();
    let f = page.facets.expect("facets");
    assert!(page.total > 100, "{}", page.total);
    assert_eq!(page.hits.len(), 10);
    let years: u64 = f.years.iter().map(|y| y.count).sum();
    assert_eq!(years + f.no_year, page.total as u64);
    let langs: u64 = f.languages.iter().map(|l| l.count).sum();
    assert_eq!(langs, page.total as u64, "every LC record has a language: {:?}", f.languages);
    assert!(f.years.windows(2).all(|w| w[0].value > w[1].value), "newest first");
    let decades: u64 = f.decades().iter().map(|d| d.count).sum();
    assert_eq!(decades, years);
    // The plain search agrees on the total.
    assert_eq!(index.search(&q).unwrap().total, page.total);
}

#[test]
fn language_facet_and_filter_agree() {
    let index = test_index();
    let q = Query::new(Field::Subject, "China");
    let f = index.search_with(&q, &faceted()).unwrap().facets.unwrap();
    let codes: Vec<&str> = f.languages.iter().map(|l| l.value.as_str()).collect();
    assert!(codes.contains(&"chi") && codes.contains(&"eng"), "{codes:?}");
    for l in &f.languages {
        let only = SearchOptions { filters: Filters { languages: vec![l.value.to_uppercase()], ..Filters::default() }, ..faceted() };
        let page = index.search_with(&q, &only).unwrap();
        assert_eq!(page.total as u64, l.count, "{}", l.value);
        // Drill-down: the filtered facet shows only the chosen language.
        assert_eq!(page.facets.unwrap().languages.len(), 1);
    }
    // Alternatives within one facet add up.
    let both = SearchOptions { filters: Filters { languages: vec!["chi".into(), "eng".into()], ..Filters::default() }, ..faceted() };
    let want: u64 = f.languages.iter().filter(|l| l.value == "chi" || l.value == "eng").map(|l| l.count).sum();
    assert_eq!(index.search_with(&q, &both).unwrap().total as u64, want);
}

#[test]
fn year_filter_by_decade_and_year() {
    let index = test_index();
    let q = Query::new(Field::Title, "中国");
    let f = index.search_with(&q, &faceted()).unwrap().facets.unwrap();
    let nineties = f.decades().into_iter().find(|d| d.value.from == 1990).expect("1990s");
    let opts = |r: YearRange| SearchOptions { filters: Filters { years: Some(r), ..Filters::default() }, ..faceted() };
    let page = index.search_with(&q, &opts(nineties.value)).unwrap();
    assert_eq!(page.total as u64, nineties.count);
    let inner = page.facets.unwrap();
    assert!(inner.years.iter().all(|y| (1990..=1999).contains(&y.value)));
    assert_eq!(inner.no_year, 0);
    let y1998 = f.years.iter().find(|y| y.value == 1998).expect("1998");
    assert_eq!(index.search_with(&q, &opts(YearRange::year(1998))).unwrap().total as u64, y1998.count);
    // Filters keep the ranking: the filtered hits are the unfiltered ones of those years,
    // in the same order.
    let years: std::collections::HashMap<String, Option<i32>> = crate::common::test_docs().into_iter().map(|d| (d.id, d.year)).collect();
    let ids = |o: SearchOptions| index.search_with(&q, &SearchOptions { all_ids: 10_000, ..o }).unwrap().all_ids;
    let want: Vec<String> = ids(SearchOptions::default())
        .into_iter()
        .filter(|id| years.get(id).copied().flatten().is_some_and(|y| nineties.value.contains(y)))
        .collect();
    assert_eq!(ids(opts(nineties.value)), want);
}

fn doc(id: &str, year: Option<i32>, lang: &str, locations: &[&str]) -> SearchDoc {
    SearchDoc {
        id: id.into(),
        title: format!("Whales {id}"),
        year,
        language: Some(lang.into()),
        locations: locations.iter().map(|s| s.to_string()).collect(),
        ..SearchDoc::default()
    }
}

#[test]
fn locations_filters_and_ranking_on_a_small_index() {
    let index = CatalogIndex::open_in_ram().unwrap();
    let mut w = index.writer().unwrap();
    w.upsert(&doc("a", Some(1999), "eng", &["三楼社科书库", "Reserve"])).unwrap();
    w.upsert(&doc("b", Some(2005), "chi", &["三楼社科书库"])).unwrap();
    w.upsert(&doc("c", None, "eng", &[])).unwrap();
    let mut whale = doc("d", Some(2005), "eng", &["Reserve"]);
    whale.title = "Whales".into(); // the exact title: ranks first
    w.upsert(&whale).unwrap();
    w.upsert(&SearchDoc { id: "x".into(), title: "Dolphins".into(), ..SearchDoc::default() }).unwrap();
    w.commit().unwrap();
    let q = Query::new(Field::Title, "whales");
    let page = index.search_with(&q, &faceted()).unwrap();
    assert_eq!(page.total, 4);
    let f = page.facets.unwrap();
    let locs: Vec<(&str, u64)> = f.locations.iter().map(|l| (l.value.as_str(), l.count)).collect();
    assert_eq!(locs, vec![("reserve", 2), ("三楼社科书库", 2)]);
    assert_eq!(f.no_year, 1);
    assert_eq!(f.years.iter().map(|y| (y.value, y.count)).collect::<Vec<_>>(), vec![(2005, 2), (1999, 1)]);

    let at = |locations: Vec<&str>| SearchOptions {
        filters: Filters { locations: locations.into_iter().map(String::from).collect(), ..Filters::default() },
        ..SearchOptions::default()
    };
    let ids = |o: &SearchOptions| -> Vec<String> { index.search_with(&q, o).unwrap().hits.into_iter().map(|h| h.id).collect() };
    let mut r = ids(&at(vec!["三楼社科书库"]));
    r.sort();
    assert_eq!(r, vec!["a", "b"]);
    assert_eq!(ids(&at(vec!["reserve"]))[0], "d", "filters do not change the ranking");
    let mut r = ids(&at(vec!["Reserve", "三楼社科书库"]));
    r.sort();
    assert_eq!(r, vec!["a", "b", "d"]);
    assert!(ids(&at(vec!["nowhere"])).is_empty());
    let both = SearchOptions {
        filters: Filters { locations: vec!["Reserve".into()], languages: vec!["eng".into()], years: Some(YearRange::decade(2000)) },
        ..SearchOptions::default()
    };
    assert_eq!(ids(&both), vec!["d"]);
}

#[test]
fn all_ids_in_result_order_up_to_a_cap() {
    let index = test_index();
    let mut q = Query::new(Field::Any, "China");
    q.sort = Sort::Newest;
    let total = index.search(&q).unwrap().total;
    assert!(total > 200);
    let mut every = q.clone();
    every.limit = total;
    let ranked: Vec<String> = index.search(&every).unwrap().hits.into_iter().map(|h| h.id).collect();

    let opts = SearchOptions { all_ids: 100_000, ..SearchOptions::default() };
    let page = index.search_with(&q, &opts).unwrap();
    assert_eq!(page.all_ids, ranked);
    assert!(page.all_ids_complete);
    assert_eq!(page.hits.len(), 10);
    assert_eq!(page.hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>(), ranked[..10]);

    // A cap below the total; a page past the cap still comes back.
    let mut later = q.clone();
    later.offset = 150;
    let page = index.search_with(&later, &SearchOptions { all_ids: 50, ..SearchOptions::default() }).unwrap();
    assert_eq!(page.all_ids, ranked[..50]);
    assert!(!page.all_ids_complete);
    assert_eq!(page.hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>(), ranked[150..160]);

    // Count only, ids only.
    let mut count_only = q.clone();
    count_only.limit = 0;
    let page = index.search_with(&count_only, &SearchOptions { all_ids: 5, facets: true, ..SearchOptions::default() }).unwrap();
    assert_eq!((page.total, page.hits.len(), page.all_ids.len()), (total, 0, 5));
    assert!(page.facets.is_some());
}

#[test]
fn unsearchable_text_gives_empty_facets() {
    let page = test_index().search_with(&Query::new(Field::Any, "、。"), &faceted()).unwrap();
    assert_eq!(page.total, 0);
    assert_eq!(page.facets, Some(search::Facets::default()));
}
