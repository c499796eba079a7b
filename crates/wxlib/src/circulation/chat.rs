//! Borrowing in chat: my loans, renew one (`续借 2`) or all (`续借全部`), hold the record just
//! viewed (`预约`) or ask to be told when it is back on the shelf (`到书提醒`), my holds and
//! cancelling them, the hot list, unbinding with confirmation. A
//! reader who is not bound is shown how to bind. Library-system calls run under a deadline: if
//! the system is slow the reader is told so at once and gets the answer as a later message; if
//! it is down, they are told that honestly.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use wechat::{Inbound, Reply};

use super::{Account, IlsError, RenewOutcome, Renewal};
use crate::clock::local_day;
use crate::lang::Lang;
use crate::services::Services;
use crate::wechat::router::{HandlerError, Responded};

pub const MENU_BIND: &str = "BIND_CARD";
pub const MENU_UNBIND: &str = "UNBIND_CARD";
pub const MENU_LOANS: &str = "MY_LOANS";
pub const MENU_RENEW: &str = "RENEW_ALL";
pub const MENU_HOT: &str = "HOT_BOOKS";
pub const MENU_HOLDS: &str = "MY_HOLDS";

fn day(unix: i64) -> String {
    local_day(unix)
}

fn not_bound(s: &Services) -> Reply {
    let url = format!("{}/h5/bind", s.config.server.public_url);
    Reply::text(match s.lang {
        Lang::Zh => format!("您还没有绑定一卡通。<a href=\"{url}\">点此绑定</a>（在网页上输入卡号和密码，聊天中请勿发送密码）。"),
        Lang::En => format!(
            "Your campus card is not bound yet. <a href=\"{url}\">Bind it here</a> (on the web page; never send your password in chat)."
        ),
    })
}

fn unavailable(lang: Lang) -> String {
    match lang {
        Lang::Zh => "图书馆系统暂时无法连接，请稍后再试。".into(),
        Lang::En => "The library system is not answering right now. Please try again later.".into(),
    }
}

/// Runs a library-system call under `circulation.ils_timeout_ms`. In time: its rendered answer.
/// Late: "we'll message you", and the answer follows through the outbox when it comes.
async fn ils_call<T, F, R>(s: &Services, openid: &str, fut: F, render: R) -> String
where
    T: Send + 'static,
    F: Future<Output = Result<T, IlsError>> + Send + 'static,
    R: FnOnce(Result<T, IlsError>) -> String + Send + 'static,
{
    let mut handle = tokio::spawn(fut);
    let deadline = Duration::from_millis(s.config.circulation.ils_timeout_ms);
    match tokio::time::timeout(deadline, &mut handle).await {
        Ok(joined) => render(joined.unwrap_or_else(|e| Err(IlsError::internal(e)))),
        Err(_) => {
            let (s2, openid2) = (s.clone(), openid.to_owned());
            let key = format!("ils-late:{}:{}", openid, s.clock.now() as u128 * 1000 + rand::random::<u16>() as u128);
            tokio::spawn(async move {
                let result = handle.await.unwrap_or_else(|e| Err(IlsError::internal(e)));
                let text = render(result);
                if let Err(e) = s2.push(&openid2, &Reply::text(text), &key).await {
                    tracing::error!(error = %e, "could not queue a late library-system answer");
                }
            });
            match s.lang {
                Lang::Zh => "图书馆系统响应较慢，结果稍后会通过消息发送给您。".into(),
                Lang::En => "The library system is slow; the answer will follow as a message.".into(),
            }
        }
    }
}

pub fn render_loans(a: &Account, now: i64, lang: Lang) -> String {
    if a.loans.is_empty() {
        return match lang {
            Lang::Zh => format!("{}，您目前没有借阅。", a.patron.name),
            Lang::En => format!("{}, you have nothing on loan.", a.patron.name),
        };
    }
    let mut out = match lang {
        Lang::Zh => format!("{}，您当前借阅 {} 册：", a.patron.name, a.loans.len()),
        Lang::En => format!("{}, you have {} item(s) on loan:", a.patron.name, a.loans.len()),
    };
    for (i, l) in a.loans.iter().enumerate() {
        let overdue = l.due_at < now;
        out.push_str(&format!("\n{}. {}", i + 1, l.title));
        out.push_str(&match (lang, overdue) {
            (Lang::Zh, true) => format!("\n   应还 {}（已超期）", day(l.due_at)),
            (Lang::Zh, false) => format!("\n   应还 {}", day(l.due_at)),
            (Lang::En, true) => format!("\n   due {} (OVERDUE)", day(l.due_at)),
            (Lang::En, false) => format!("\n   due {}", day(l.due_at)),
        });
        match (&l.renewal, lang) {
            (Renewal::Allowed { renewals }, Lang::Zh) => out.push_str(&format!(" · 可续借（已续 {renewals} 次）")),
            (Renewal::Allowed { renewals }, Lang::En) => out.push_str(&format!(" · renewable ({renewals} renewals)")),
            (Renewal::Refused(why), _) => out.push_str(&format!(" · {why}")),
            // Not known before asking: the renewal's answer will say.
            (Renewal::Unknown, _) => {}
        }
    }
    if a.fines_cents > 0 {
        out.push_str(&format!("\n欠款 {:.2} 元", a.fines_cents as f64 / 100.0));
    }
    out.push_str(match lang {
        Lang::Zh => "\n\n回复“续借 序号”续借一本，回复“续借全部”全部续借。",
        Lang::En => "\n\nReply \"renew N\" to renew one, \"renew all\" for all.",
    });
    out
}

pub fn render_renewals(results: &[RenewOutcome], lang: Lang) -> String {
    if results.is_empty() {
        return if lang == Lang::Zh { "您目前没有可续借的图书。".into() } else { "Nothing to renew.".into() };
    }
    let ok = results.iter().filter(|r| r.ok).count();
    let mut out = match lang {
        Lang::Zh => format!("续借结果：成功 {} 册，未成功 {} 册", ok, results.len() - ok),
        Lang::En => format!("Renewed {} of {}", ok, results.len()),
    };
    for r in results {
        out.push_str(&match (r.ok, lang) {
            (true, Lang::Zh) => format!("\n✓ {} 新应还日期 {}", r.title, r.due_at.map(day).unwrap_or_default()),
            (true, Lang::En) => format!("\n✓ {} now due {}", r.title, r.due_at.map(day).unwrap_or_default()),
            (false, _) => format!("\n✗ {}：{}", r.title, r.reason.clone().unwrap_or_default()),
        });
    }
    out
}

fn render_error(e: IlsError, lang: Lang) -> String {
    match e {
        IlsError::Unavailable(_) => unavailable(lang),
        IlsError::Refused(why) => why,
        IlsError::NotSupported => {
            if lang == Lang::Zh {
                "本馆的图书馆系统不支持这项操作。".into()
            } else {
                "The library system does not support this.".into()
            }
        }
        other => {
            tracing::error!(error = %other, "library system call failed");
            crate::lang::sorry(lang).into()
        }
    }
}

async fn card_of(s: &Services, openid: &str) -> Result<Option<String>, HandlerError> {
    Ok(s.db.binding(openid).await?)
}

pub async fn loans(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let Some(card) = card_of(&s, &m.from_user).await? else { return Ok(not_bound(&s)) };
    let (ils, lang, now) = (s.ils.clone(), s.lang, s.clock.now());
    let text = ils_call(&s, &m.from_user, async move { ils.account(&card).await }, move |r| match r {
        Ok(a) => render_loans(&a, now, lang),
        Err(e) => render_error(e, lang),
    })
    .await;
    Ok(Reply::text(text))
}

pub async fn renew_all(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let Some(card) = card_of(&s, &m.from_user).await? else { return Ok(not_bound(&s)) };
    let (ils, lang) = (s.ils.clone(), s.lang);
    let text = ils_call(&s, &m.from_user, async move { ils.renew_all(&card).await }, move |r| match r {
        Ok(results) => render_renewals(&results, lang),
        Err(e) => render_error(e, lang),
    })
    .await;
    Ok(Reply::text(text))
}

/// `续借 N`: the N-th loan of the list, in the list's order (by due date).
async fn renew_nth(s: Services, m: Arc<Inbound>, n: usize) -> Result<Reply, HandlerError> {
    let Some(card) = card_of(&s, &m.from_user).await? else { return Ok(not_bound(&s)) };
    let (ils, lang) = (s.ils.clone(), s.lang);
    let text = ils_call(
        &s,
        &m.from_user,
        async move {
            let account = ils.account(&card).await?;
            let loan = account
                .loans
                .get(n.wrapping_sub(1))
                .ok_or_else(|| IlsError::Refused(format!("没有第 {n} 本借阅，回复“借阅”查看列表。")))?;
            ils.renew(&card, &loan.barcode).await
        },
        move |r| match r {
            Ok(outcome) => render_renewals(&[outcome], lang),
            Err(e) => render_error(e, lang),
        },
    )
    .await;
    Ok(Reply::text(text))
}

/// `预约`: hold the record the reader looked at last.
async fn hold_last_viewed(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let Some(card) = card_of(&s, &m.from_user).await? else { return Ok(not_bound(&s)) };
    let dialog = s.db.dialog(&m.from_user, s.clock.now()).await?;
    let Some(record_id) = dialog.record_id else {
        return Ok(Reply::text(if s.lang == Lang::Zh {
            "请先检索并打开一本书的详情，再回复“预约”。"
        } else {
            "Open a book's details first, then reply \"hold\"."
        }));
    };
    if !s.ils.capabilities().hold {
        return Ok(Reply::text(render_error(IlsError::NotSupported, s.lang)));
    }
    let (ils, lang) = (s.ils.clone(), s.lang);
    let text = ils_call(&s, &m.from_user, async move { ils.place_hold(&card, &record_id, None).await }, move |r| match r {
        Ok(h) => match lang {
            Lang::Zh => format!("已为您预约《{}》。书到后会通知您取书。回复“我的预约”查看。", h.title),
            Lang::En => format!("Hold placed on \"{}\". We'll tell you when it is ready.", h.title),
        },
        Err(e) => render_error(e, lang),
    })
    .await;
    Ok(Reply::text(text))
}

/// `到书提醒`: be told once when a copy of the record viewed last is back on the shelf.
async fn watch_last_viewed(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let dialog = s.db.dialog(&m.from_user, s.clock.now()).await?;
    let Some(record_id) = dialog.record_id else {
        return Ok(Reply::text(if s.lang == Lang::Zh {
            "请先检索并打开一本书的详情，再回复“到书提醒”。"
        } else {
            "Open a book's details first, then reply \"notify me\"."
        }));
    };
    let r = super::shelf_watch::request(&s, &m.from_user, &record_id).await?;
    Ok(Reply::text(super::shelf_watch::answer(&r, s.lang)))
}

pub async fn holds(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let Some(card) = card_of(&s, &m.from_user).await? else { return Ok(not_bound(&s)) };
    let (ils, lang) = (s.ils.clone(), s.lang);
    let text = ils_call(&s, &m.from_user, async move { ils.account(&card).await }, move |r| match r {
        Ok(a) if a.holds.is_empty() => {
            if lang == Lang::Zh {
                "您目前没有预约。".into()
            } else {
                "You have no holds.".into()
            }
        }
        Ok(a) => {
            let mut out = if lang == Lang::Zh {
                format!("您的预约（{}）：", a.holds.len())
            } else {
                format!("Your holds ({}):", a.holds.len())
            };
            for (i, h) in a.holds.iter().enumerate() {
                let status = match (lang, h.status.as_str()) {
                    (Lang::Zh, "ready") => "已到书，可取",
                    (Lang::Zh, _) => "等待中",
                    (Lang::En, "ready") => "ready to pick up",
                    (Lang::En, _) => "waiting",
                };
                out.push_str(&format!("\n{}. {} · {}", i + 1, h.title, status));
            }
            out.push_str(if lang == Lang::Zh {
                "\n\n回复“取消预约 序号”取消。"
            } else {
                "\n\nReply \"cancel hold N\" to cancel."
            });
            out
        }
        Err(e) => render_error(e, lang),
    })
    .await;
    Ok(Reply::text(text))
}

async fn cancel_nth_hold(s: Services, m: Arc<Inbound>, n: usize) -> Result<Reply, HandlerError> {
    let Some(card) = card_of(&s, &m.from_user).await? else { return Ok(not_bound(&s)) };
    let (ils, lang) = (s.ils.clone(), s.lang);
    let text = ils_call(
        &s,
        &m.from_user,
        async move {
            let a = ils.account(&card).await?;
            let h = a.holds.get(n.wrapping_sub(1)).ok_or_else(|| IlsError::Refused(format!("没有第 {n} 条预约。")))?;
            ils.cancel_hold(&card, &h.id).await.map(|_| h.title.clone())
        },
        move |r| match r {
            Ok(title) => {
                if lang == Lang::Zh {
                    format!("已取消《{title}》的预约。")
                } else {
                    format!("Hold on \"{title}\" cancelled.")
                }
            }
            Err(e) => render_error(e, lang),
        },
    )
    .await;
    Ok(Reply::text(text))
}

pub async fn hot(s: Services, _m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let lang = s.lang;
    if !s.ils.capabilities().hot_list {
        return Ok(Reply::text(render_error(IlsError::NotSupported, lang)));
    }
    let since = s.clock.now() - s.config.circulation.hot_days * crate::clock::DAY_SECS;
    let hot = match s.ils.hot_titles(since, 10).await {
        Ok(h) => h,
        Err(e) => return Ok(Reply::text(render_error(e, lang))),
    };
    if hot.is_empty() {
        return Ok(Reply::text(if lang == Lang::Zh { "最近还没有借阅记录。" } else { "No loans recorded lately." }));
    }
    let ids: Vec<String> = hot.iter().map(|h| h.record_id.clone()).collect();
    let summaries = s.db.record_summaries(&ids).await?;
    let mut out = if lang == Lang::Zh {
        format!("近 {} 天热门借阅：", s.config.circulation.hot_days)
    } else {
        format!("Most borrowed, last {} days:", s.config.circulation.hot_days)
    };
    for (i, r) in summaries.iter().enumerate() {
        let n = hot.iter().find(|h| h.record_id == r.id).map(|h| h.loans).unwrap_or(0);
        out.push_str(&format!(
            "\n{}. <a href=\"{}/opac/record/{}\">{}</a>（{} 次）",
            i + 1,
            s.config.server.public_url,
            crate::web::urlencode(&r.id),
            r.title,
            n
        ));
    }
    Ok(Reply::text(out))
}

pub async fn bind_link(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    match card_of(&s, &m.from_user).await? {
        Some(_) => Ok(Reply::text(if s.lang == Lang::Zh {
            "您已绑定一卡通。回复“解绑”可解除绑定。"
        } else {
            "Your card is bound. Reply \"unbind\" to unbind."
        })),
        None => Ok(not_bound(&s)),
    }
}

pub async fn unbind_ask(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    if card_of(&s, &m.from_user).await?.is_none() {
        return Ok(Reply::text(if s.lang == Lang::Zh { "您还没有绑定一卡通。" } else { "No card is bound." }));
    }
    Ok(Reply::text(if s.lang == Lang::Zh {
        "确定要解除一卡通绑定吗？解绑后公众号将删除您的借阅相关信息。确认请回复“确认解绑”。"
    } else {
        "Unbind your card? wxlib will delete your borrowing data. Reply \"confirm unbind\" to go ahead."
    }))
}

pub async fn unbind_confirm(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let existed = s.db.forget_reader(&m.from_user).await?;
    Ok(Reply::text(match (existed, s.lang) {
        (true, Lang::Zh) => "已解除绑定，您的借阅相关信息已删除。",
        (false, Lang::Zh) => "您还没有绑定一卡通。",
        (true, Lang::En) => "Unbound; your borrowing data is deleted.",
        (false, Lang::En) => "No card was bound.",
    }))
}

/// Unfollowing forgets the reader too (when configured).
pub async fn on_unsubscribe(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    if s.config.circulation.unbind_on_unsubscribe {
        s.db.forget_reader(&m.from_user).await?;
    }
    Ok(Reply::Success)
}

/// Borrowing commands typed as text; `None` if the text is not one.
pub async fn on_text(s: &Services, m: &Arc<Inbound>, text: &str) -> Responded {
    let lower = text.trim().to_lowercase();
    let number = |prefixes: &[&str]| prefixes.iter().find_map(|p| lower.strip_prefix(p)).and_then(|rest| rest.trim().parse::<usize>().ok());
    // Services are cloned for the command only, not for every text that passes by.
    let reply = match lower.as_str() {
        "借阅" | "我的借阅" | "借阅信息" | "loans" | "my loans" => loans(s.clone(), m.clone()).await,
        "续借全部" | "全部续借" | "renew all" => renew_all(s.clone(), m.clone()).await,
        "预约" | "hold" => hold_last_viewed(s.clone(), m.clone()).await,
        "到书提醒" | "到书通知" | "notify me" => watch_last_viewed(s.clone(), m.clone()).await,
        "我的预约" | "holds" | "my holds" => holds(s.clone(), m.clone()).await,
        "热门借阅" | "热门" | "hot" => hot(s.clone(), m.clone()).await,
        "绑定" | "绑定一卡通" | "bind" => bind_link(s.clone(), m.clone()).await,
        "解绑" | "解除绑定" | "unbind" => unbind_ask(s.clone(), m.clone()).await,
        "确认解绑" | "confirm unbind" => unbind_confirm(s.clone(), m.clone()).await,
        _ => {
            if let Some(n) = number(&["续借", "renew"]) {
                renew_nth(s.clone(), m.clone(), n).await
            } else if let Some(n) = number(&["取消预约", "cancel hold"]) {
                cancel_nth_hold(s.clone(), m.clone(), n).await
            } else {
                return Ok(None);
            }
        }
    };
    reply.map(Some)
}
