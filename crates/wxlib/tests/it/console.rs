use wxlib::console::{Role, auth};

use crate::helpers::*;

async fn librarian_names(db: &wxlib::db::Db) -> Vec<String> {
    db.librarians().await.unwrap().into_iter().map(|l| l.username).collect()
}

/// Sign-in, wrong password, session required, CSRF refused, librarian vs admin, audit rows — on
/// SQLite and PostgreSQL.
#[tokio::test]
async fn sign_in_sessions_csrf_roles_and_audit() {
    for (backend, test_db) in all_dbs().await {
        let api = fake_api().await;
        let app = spawn_app_on(test_db, &api.base, wxlib::conversation::router()).await;
        let db = app.db.clone();
        auth::create_librarian(&db, "root", "root-password", Role::Admin).await.unwrap();
        auth::create_librarian(&db, "li.ming", "librarian-pw", Role::Librarian).await.unwrap();
        assert!(
            matches!(auth::create_librarian(&db, "root", "another-password", Role::Admin).await, Err(auth::AuthError::Taken(_))),
            "{backend}"
        );
        let (hash,): (String,) = match &db {
            wxlib::db::Db::Sqlite(p) => {
                sqlx::query_as("SELECT password_hash FROM librarians WHERE username = 'root'").fetch_one(p).await.unwrap()
            }
            wxlib::db::Db::Postgres(p) => {
                sqlx::query_as("SELECT password_hash FROM librarians WHERE username = 'root'").fetch_one(p).await.unwrap()
            }
        };
        assert!(hash.starts_with("$argon2") && !hash.contains("root-password"), "{backend}: only an argon2 hash is stored");

        // No session: pages send to the sign-in page, other requests are refused.
        let anon = no_redirect_client();
        let r = console_response(anon.get(format!("{}/console/librarians", app.base)).send().await.unwrap()).await;
        assert_eq!(r.status, 303, "{backend}");
        assert_eq!(r.location.as_deref(), Some("/console/login?next=%2Fconsole%2Flibrarians"));
        let r = console_response(
            anon.post(format!("{}/console/librarians", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("username=x&password=xxxxxxxxx&role=admin")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 401, "{backend}");
        let r = console_response(anon.get(format!("{}/console", app.base)).header("cookie", "wxlib_console=forged").send().await.unwrap())
            .await;
        assert_eq!(r.status, 303, "{backend}: a made-up session is no session");

        // Wrong password, unknown user, and a sign-in without the form's CSRF token.
        let wrong = console_login(&app.base, "root", "not-the-password").await.err().expect("wrong password refused");
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("用户名或密码不正确"), "{}", wrong.body);
        assert_eq!(console_login(&app.base, "nobody", "whatever-pw").await.err().map(|r| r.status), Some(401));
        let r = console_response(
            anon.post(format!("{}/console/login", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("username=root&password=root-password&csrf=abc")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 403, "{backend}: no sign-in without the double-submit token");
        assert!(cookie_pair(&r.set_cookie, "wxlib_console").is_none());

        // The admin signs in; the cookie is HttpOnly and SameSite.
        let admin =
            console_login(&app.base, "root", "root-password").await.unwrap_or_else(|r| panic!("{backend}: {} {}", r.status, r.body));
        let home = admin.get("/console").await;
        assert!(home.body.contains("你好，root"), "{}", home.body);
        for section in [
            "/console/menu",
            "/console/activities",
            "/console/inbox",
            "/console/answers",
            "/console/broadcasts",
            "/console/librarians",
            "/console/audit",
        ] {
            assert!(home.body.contains(&format!("href=\"{section}\"")), "nav links {section}");
        }

        // A POST without the CSRF token, or with a wrong one, is refused and changes nothing.
        let r = admin.post_raw("/console/librarians", &[("username", "wang"), ("password", "password-123"), ("role", "librarian")]).await;
        assert_eq!(r.status, 403, "{backend}");
        assert!(r.body.contains("CSRF"));
        let r = admin
            .post_raw("/console/librarians", &[("username", "wang"), ("password", "password-123"), ("role", "librarian"), ("csrf", "0123")])
            .await;
        assert_eq!(r.status, 403);
        assert!(!librarian_names(&db).await.contains(&"wang".to_owned()), "{backend}: nothing added without CSRF");

        // Bad input gets a clear message and changes nothing.
        let r = admin.post("/console/librarians", &[("username", "wang"), ("password", "short"), ("role", "librarian")]).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("密码长度须为 8–128 个字符"), "{}", r.body);
        let r = admin.post("/console/librarians", &[("username", "王 五"), ("password", "password-123"), ("role", "librarian")]).await;
        assert_eq!(r.status, 400);
        let r = admin.post("/console/librarians", &[("username", "li.ming"), ("password", "password-123"), ("role", "librarian")]).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("已被使用"));
        assert_eq!(librarian_names(&db).await.len(), 2, "{backend}");

        // With the token it works, and the audit log says who did it.
        let r = admin.post("/console/librarians", &[("username", "wang"), ("password", "password-123"), ("role", "librarian")]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(librarian_names(&db).await.contains(&"wang".to_owned()));
        let entries = db.audit_entries("librarian.", 10, 0).await.unwrap();
        assert_eq!(entries[0].action, "librarian.add");
        assert_eq!(entries[0].username.as_deref(), Some("root"));
        assert!(entries[0].detail.contains("wang"));
        let audit_page = admin.get("/console/audit").await;
        assert_eq!(audit_page.status, 200);
        assert!(audit_page.body.contains("librarian.add") && audit_page.body.contains("wang"));

        // A librarian cannot do admin-only things.
        let li = console_login(&app.base, "li.ming", "librarian-pw").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
        let home = li.get("/console").await;
        assert!(!home.body.contains("href=\"/console/librarians\""), "admin sections are not offered to librarians");
        assert_eq!(li.get("/console/librarians").await.status, 403);
        assert_eq!(li.get("/console/audit").await.status, 403);
        let r = li.post("/console/librarians", &[("username", "zhao"), ("password", "password-123"), ("role", "admin")]).await;
        assert_eq!(r.status, 403);
        assert!(r.body.contains("只有管理员"));
        assert!(!librarian_names(&db).await.contains(&"zhao".to_owned()));

        // The language switch is remembered for the session.
        assert!(li.get("/console?lang=en").await.body.contains("Hello, li.ming"));
        assert!(li.get("/console").await.body.contains("Sign out"));

        // Disabling an account ends its sessions; enabling lets it sign in again.
        let li_id = db.librarians().await.unwrap().into_iter().find(|l| l.username == "li.ming").unwrap().id;
        assert_eq!(admin.post(&format!("/console/librarians/{li_id}/disable"), &[]).await.status, 303);
        assert_eq!(li.get("/console").await.status, 303, "{backend}: a disabled librarian's session ended");
        assert_eq!(console_login(&app.base, "li.ming", "librarian-pw").await.err().map(|r| r.status), Some(401));
        assert_eq!(admin.post(&format!("/console/librarians/{li_id}/enable"), &[]).await.status, 303);
        let root_id = db.librarians().await.unwrap()[0].id;
        assert_eq!(
            admin.post(&format!("/console/librarians/{root_id}/disable"), &[]).await.status,
            400,
            "an admin cannot lock themself out"
        );

        // A password reset signs the account out and the new password works.
        let li = console_login(&app.base, "li.ming", "librarian-pw").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
        assert_eq!(admin.post(&format!("/console/librarians/{li_id}/password"), &[("password", "x")]).await.status, 400);
        assert_eq!(admin.post(&format!("/console/librarians/{li_id}/password"), &[("password", "new-password-1")]).await.status, 303);
        assert_eq!(li.get("/console").await.status, 303);
        assert!(console_login(&app.base, "li.ming", "new-password-1").await.is_ok());
        let actions: Vec<String> = db.audit_entries("librarian.", 10, 0).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["librarian.password", "librarian.enable", "librarian.disable", "librarian.add"], "{backend}");

        // Signing out ends the session (a POST, so CSRF-checked).
        assert_eq!(admin.post_raw("/console/logout", &[]).await.status, 403);
        let r = admin.post("/console/logout", &[]).await;
        assert_eq!(r.status, 303);
        assert_eq!(admin.get("/console").await.status, 303);

        // Guessing is rate-limited per user name and address: after 5 failures even the right password waits.
        for _ in 0..auth::PAIR_LIMIT.attempts {
            assert_eq!(console_login(&app.base, "wang", "guess-guess").await.err().map(|r| r.status), Some(401));
        }
        let limited = console_login(&app.base, "wang", "password-123").await.err().expect("rate limited");
        assert_eq!(limited.status, 429, "{backend}");
        assert!(console_login(&app.base, "root", "root-password").await.is_ok(), "other accounts are not affected");
    }
}

/// `wxlib create-admin --password-stdin` creates an admin who can sign in; the CLI refuses a
/// short password and a taken name.
#[tokio::test]
async fn create_admin_from_the_command_line() {
    use std::io::Write;
    let test_db = sqlite_db().await;
    let run = |name: &str, password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wxlib"))
            .args(["create-admin", "--password-stdin", name])
            .env("WXLIB_STORAGE__URL", &test_db.url)
            .env("WXLIB_WECHAT__TOKEN", TOKEN)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("chief", "chief-password");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("chief", "chief-password");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already taken"));
    let out = run("deputy", "short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("8 to 128"));

    let api = fake_api().await;
    let app = spawn_app_on(test_db, &api.base, wxlib::conversation::router()).await;
    let chief = console_login(&app.base, "chief", "chief-password").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
    assert_eq!(chief.get("/console/librarians").await.status, 200, "the CLI made an admin");
    let entries = app.db.audit_entries("", 10, 0).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "librarian.add" && e.username.is_none() && e.detail.contains("chief")));
}
