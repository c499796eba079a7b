//! Partner libraries in-process: two wxlib apps, one the other's partner over SRU; the partner
//! list managed in the console (validation, roles, audit) on SQLite and PostgreSQL; the CQL of
//! `/sru` ranked exactly as our own search.

use wxlib::catalog::SearchField;
use wxlib::catalog::import::{InputCharset, InputFormat, import_bytes};
use wxlib::console::{Role, auth};
use wxlib::partners::federated::{self, Outcome};
use wxlib::partners::{Partner, cql_map};

use crate::helpers::*;

/// A small MARC 21 file: `n` records titled "<word> volume i", plus one Chinese record.
fn marc_file(word: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut add = |id: String, title: &str, author: &str, year: u32| {
        let mut r = marc::Record::new(marc::Leader::parse("00000nam a2200000 a 4500").unwrap());
        r.push_control("001", &id);
        r.push_control("008", &format!("000101s{year}    cc            000 0 chi  "));
        r.push_data(marc::DataField::new("100", '1', ' ').with('a', author));
        r.push_data(marc::DataField::new("245", '1', '0').with('a', title));
        r.push_data(marc::DataField::new("260", ' ', ' ').with('b', "Test Press").with('c', &year.to_string()));
        out.extend(marc::to_iso2709(&r).unwrap());
    };
    for i in 1..=n {
        add(format!("{word}{i:04}"), &format!("{word} volume {i}"), "Smith, Jane", 1990 + i as u32);
    }
    add(format!("{word}zh"), "数据结构", "严蔚敏", 2007);
    out
}

/// An app whose catalog holds `marc` (imported before it starts, so its index is in step).
async fn library_with(marc: &[u8]) -> TestApp {
    library_on(sqlite_db().await, marc).await
}

async fn library_on(test_db: TestDb, marc: &[u8]) -> TestApp {
    let db = wxlib::db::Db::connect(&test_db.url).await.unwrap();
    let summary = import_bytes(&db, "test.mrc", marc, InputFormat::Auto, InputCharset::Auto, now(), &|_| {}).await.unwrap();
    assert!(summary.added > 0);
    let api = fake_api().await;
    spawn_app_on(test_db, &api.base, wxlib::conversation::router()).await
}

fn partner_at(name: &str, base: &str) -> Partner {
    Partner {
        id: 0,
        name: name.into(),
        base_url: format!("{base}/sru"),
        database: String::new(),
        indexes: vec!["dc.title".into(), "dc.creator".into(), "cql.anywhere".into(), "bath.isbn".into()],
        record_schema: "marcxml".into(),
        timeout_ms: 2000,
        enabled: true,
    }
}

#[tokio::test]
async fn one_wxlib_searches_another_over_sru() {
    let b = library_with(&marc_file("ocean", 12)).await;
    let p = partner_at("乙馆", &b.base);
    let a = federated::ask(&p, "ocean", SearchField::Title, 5).await;
    let Outcome::Answered(r) = &a.outcome else { panic!("{:?}", a.outcome) };
    assert_eq!(r.total, 12);
    assert_eq!(r.hits.len(), 5);
    assert!(r.hits.iter().all(|h| h.title.starts_with("ocean volume") && h.author.as_deref() == Some("Smith, Jane")), "{:?}", r.hits);
    let a = federated::ask(&p, "数据结构", SearchField::Any, 5).await;
    assert_eq!(a.results().map(|r| (r.total, r.hits[0].title.as_str(), r.hits[0].year)), Some((1, "数据结构", Some(2007))));
    // Dublin Core works too
    let dc = Partner { record_schema: "dc".into(), ..p.clone() };
    let a = federated::ask(&dc, "严蔚敏", SearchField::Author, 5).await;
    assert_eq!(a.results().map(|r| r.hits[0].title.clone()), Some("数据结构".to_owned()));
    // a partner that is down is a failure, not a crash, and fast
    let down = partner_at("停机馆", "http://127.0.0.1:9");
    let a = federated::ask(&down, "ocean", SearchField::Title, 5).await;
    assert!(matches!(&a.outcome, Outcome::Failed { timed_out: false, .. }), "{:?}", a.outcome);
    // an index the partner lacks falls back to its any-word index; call numbers are not asked
    let titles_only = Partner { indexes: vec!["cql.anywhere".into()], ..p.clone() };
    assert_eq!(federated::ask(&titles_only, "Smith", SearchField::Author, 1).await.results().map(|r| r.total), Some(12));
    assert!(matches!(federated::ask(&p, "TP3", SearchField::CallNumber, 1).await.outcome, Outcome::Unsupported));
}

#[tokio::test]
async fn sru_cql_ranks_as_our_own_search() {
    for (backend, test_db) in all_dbs().await {
        let app = library_on(test_db, &marc_file("river", 15)).await;
        let catalog = &app.services.catalog;
        for (cql, text, field) in [
            ("river", "river", SearchField::Any),
            ("dc.title = \"river volume\"", "river volume", SearchField::Title),
            ("dc.creator all smith", "smith", SearchField::Author),
        ] {
            let plan = cql_map::plan(&cql::parse(cql).unwrap()).unwrap();
            let ours = catalog.search(text, field, wxlib::catalog::Sort::Relevance, 1, 10).await.unwrap();
            let sru = cql_map::run(catalog, &plan, 0, 10).await.unwrap();
            assert_eq!(sru.total, ours.total, "{backend} {cql}");
            assert_eq!(sru.ids, ours.hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>(), "{cql}");
        }
        let plan = cql_map::plan(&cql::parse("river and dc.date >= 2000 not dc.title = \"volume 12\"").unwrap()).unwrap();
        let r = cql_map::run(catalog, &plan, 0, 50).await.unwrap();
        // volumes 10..15 are 2000..2005; volume 12 removed
        assert_eq!(r.total, 5, "{backend} {:?}", r.ids);
        assert!(!r.ids.contains(&"river0012".to_owned()));
        let plan = cql_map::plan(&cql::parse("dc.title any \"river 数据结构\"").unwrap()).unwrap();
        assert_eq!(cql_map::run(catalog, &plan, 0, 50).await.unwrap().total, 16);
    }
}

#[tokio::test]
async fn partners_are_managed_in_the_console_on_both_backends() {
    let b = library_with(&marc_file("forest", 3)).await;
    for (backend, test_db) in all_dbs().await {
        let api = fake_api().await;
        let app = spawn_app_on(test_db, &api.base, wxlib::conversation::router()).await;
        auth::create_librarian(&app.db, "root", "root-password", Role::Admin).await.unwrap();
        auth::create_librarian(&app.db, "li.ming", "librarian-pw", Role::Librarian).await.unwrap();
        let admin = console_login(&app.base, "root", "root-password").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
        let page = admin.get("/console/partners").await;
        assert_eq!(page.status, 200, "{backend}");
        assert!(page.body.contains("还没有合作图书馆"), "{}", page.body);
        assert!(admin.get("/console").await.body.contains("href=\"/console/partners\""));

        // bad input: a clear message, nothing stored
        let url = format!("{}/sru", b.base);
        let mut fields = vec![
            ("name", "乙大学图书馆"),
            ("base_url", "ftp://nowhere"),
            ("database", ""),
            ("indexes", "dc.title"),
            ("indexes", "cql.anywhere"),
            ("record_schema", "marcxml"),
            ("timeout_ms", "2000"),
            ("enabled", "on"),
        ];
        let r = admin.post("/console/partners", &fields).await;
        assert_eq!(r.status, 400, "{backend}");
        assert!(r.body.contains("SRU 地址填写有误"), "{}", r.body);
        assert!(r.body.contains("乙大学图书馆"), "the form keeps what was typed");
        fields[1] = ("base_url", &url);
        fields[6] = ("timeout_ms", "9000");
        let r = admin.post("/console/partners", &fields).await;
        assert!(r.status == 400 && r.body.contains("超时填写有误"), "{}", r.body);
        fields[6] = ("timeout_ms", "1500");
        assert!(app.db.partners().await.unwrap().is_empty(), "{backend}");

        // added, listed, checked against the real partner
        let r = admin.post("/console/partners", &fields).await;
        assert_eq!((r.status, r.location.as_deref()), (303, Some("/console/partners")), "{}", r.body);
        let stored = app.db.partners().await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].name.as_str(), stored[0].endpoint(), stored[0].timeout_ms), ("乙大学图书馆", url.clone(), 1500));
        assert_eq!(stored[0].indexes, vec!["dc.title".to_owned(), "cql.anywhere".to_owned()]);
        let id = stored[0].id;
        let r = admin.post(&format!("/console/partners/{id}/check"), &[]).await;
        assert!(r.body.contains("乙大学图书馆 正常响应"), "{}", r.body);
        // the same name twice is refused
        let r = admin.post("/console/partners", &fields).await;
        assert_eq!(r.status, 400);

        // a librarian sees the list but cannot change it
        let librarian = console_login(&app.base, "li.ming", "librarian-pw").await.unwrap_or_else(|r| panic!("{}", r.body));
        assert!(librarian.get("/console/partners").await.body.contains("乙大学图书馆"));
        assert_eq!(librarian.post(&format!("/console/partners/{id}/delete"), &[]).await.status, 403);

        // edited, then removed; each change audited
        let edit = admin.get(&format!("/console/partners/{id}")).await;
        assert!(edit.body.contains(&url), "{}", edit.body);
        let mut changed = fields.clone();
        changed[0] = ("name", "乙大学");
        changed.retain(|(k, _)| *k != "enabled");
        assert_eq!(admin.post(&format!("/console/partners/{id}"), &changed).await.status, 303);
        let p = app.db.partner(id).await.unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.enabled), ("乙大学", false));
        assert_eq!(admin.post(&format!("/console/partners/{id}/delete"), &[]).await.status, 303);
        assert!(app.db.partners().await.unwrap().is_empty());
        let actions: Vec<String> = app.db.audit_entries("partner.", 10, 0).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, vec!["partner.delete", "partner.update", "partner.add"], "{backend}");
    }
}
