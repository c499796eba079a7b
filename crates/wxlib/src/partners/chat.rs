//! Partner libraries in chat. When our catalog has nothing, the zero-hit answer also shows what
//! partner libraries hold; after any search, "其他馆" / "other libraries" asks them for the same
//! query. Every partner gets at most `partners.max_timeout_ms` (≤ 4 s), all at once, so the
//! answer leaves within WeChat's 5 seconds; a partner that did not answer is named.

use wechat::{Inbound, Reply};

use super::federated::{self, Outcome, PartnerAnswer};
use crate::catalog::chat::SearchAnswer;
use crate::catalog::{SearchField, parse_field};
use crate::db::unix_now;
use crate::lang::Lang;
use crate::services::Services;
use crate::wechat::router::{HandlerError, Responded};

/// The words that ask for partner libraries.
pub const OTHER_LIBRARIES_WORDS: &[&str] = &["其他馆", "其它馆", "其他图书馆", "other libraries", "other library"];

pub fn is_other_libraries(text: &str) -> bool {
    let t = text.trim();
    OTHER_LIBRARIES_WORDS.iter().any(|w| t.eq_ignore_ascii_case(w))
}

fn shorten(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars { s.to_owned() } else { s.chars().take(max_chars).collect::<String>() + "…" }
}

/// The partners' answers as chat text: per library its count and first records, then who did
/// not answer and why. Empty when there are no partners.
pub fn render_partners(answers: &[PartnerAnswer], lang: Lang, per_partner: usize) -> String {
    let zh = lang == Lang::Zh;
    let mut blocks = Vec::new();
    let mut silent = Vec::new();
    for a in answers {
        match &a.outcome {
            Outcome::Answered(r) if r.total > 0 => {
                let mut b =
                    if zh { format!("【{}】馆藏 {} 条：", a.name, r.total) } else { format!("[{}] holds {}:", a.name, r.total) };
                for (i, h) in r.hits.iter().take(per_partner).enumerate() {
                    let author = h.author.as_deref().map(|x| format!(" / {}", shorten(x, 16))).unwrap_or_default();
                    let year = h.year.map(|y| format!(" ({y})")).unwrap_or_default();
                    b.push_str(&format!("\n{}. {}{}{}", i + 1, shorten(&h.title, 36), author, year));
                }
                blocks.push(b);
            }
            Outcome::Answered(_) => {
                blocks.push(if zh { format!("【{}】没有找到。", a.name) } else { format!("[{}] nothing found.", a.name) })
            }
            Outcome::Unsupported => blocks.push(if zh {
                format!("【{}】不支持这种检索。", a.name)
            } else {
                format!("[{}] does not support this search.", a.name)
            }),
            Outcome::Failed { timed_out, .. } => silent.push((a.name.as_str(), *timed_out)),
        }
    }
    for (name, timed_out) in silent {
        blocks.push(match (zh, timed_out) {
            (true, true) => format!("【{name}】未在时限内响应，已跳过。"),
            (true, false) => format!("【{name}】暂时无法访问，已跳过。"),
            (false, true) => format!("[{name}] did not answer in time; skipped."),
            (false, false) => format!("[{name}] could not be reached; skipped."),
        });
    }
    blocks.join("\n\n")
}

/// Appended to the first page of local results when partners are set up: how to ask them.
pub async fn hint(s: &Services) -> String {
    match s.partners().await {
        Ok(p) if p.iter().any(|p| p.enabled) => match s.lang {
            Lang::Zh => "\n回复“其他馆”查看合作图书馆的馆藏。".to_owned(),
            Lang::En => "\nReply \"other libraries\" for partner libraries' holdings.".to_owned(),
        },
        Ok(_) => String::new(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot load partners for the hint");
            String::new()
        }
    }
}

/// Appended to a zero-hit answer: what partners hold, if any partner is configured.
pub async fn zero_hits_addendum(s: &Services, query: &str, field: SearchField) -> Option<String> {
    let answers = federated::search_partners(s, query, field, s.config.partners.chat_hits_per_partner).await;
    if answers.is_empty() {
        return None;
    }
    let body = render_partners(&answers, s.lang, s.config.partners.chat_hits_per_partner);
    let held = answers.iter().any(|a| a.results().is_some_and(|r| r.total > 0));
    Some(match (s.lang, held) {
        (Lang::Zh, true) => format!("本馆没有，合作馆藏有：\n\n{body}\n\n可通过馆际互借借阅，详询流通服务台。"),
        (Lang::Zh, false) => format!("合作图书馆：\n\n{body}"),
        (Lang::En, true) => {
            format!("Not held here, but partner libraries have it:\n\n{body}\n\nAsk the circulation desk about interlibrary loan.")
        }
        (Lang::En, false) => format!("Partner libraries:\n\n{body}"),
    })
}

/// "其他馆" ([`OTHER_LIBRARIES_WORDS`]): the reader's last search, asked of the partner libraries.
pub async fn on_text(s: &Services, m: &Inbound, text: &str) -> Responded {
    if !is_other_libraries(text) {
        return Ok(None);
    }
    other_libraries(s, m).await.map(Some)
}

/// The catalog's answer to a text, with what partner libraries hold when ours has nothing, or how
/// to ask them after a first page of results.
pub async fn with_partner_libraries(s: &Services, answer: SearchAnswer) -> Reply {
    match answer {
        SearchAnswer::Done(reply) => reply,
        SearchAnswer::NothingFound { text, query, field } => match zero_hits_addendum(s, &query, field).await {
            Some(partners) => Reply::text(format!("{text}\n\n{partners}")),
            None => Reply::text(text),
        },
        SearchAnswer::FirstPage(mut text) => {
            text.push_str(&hint(s).await);
            Reply::text(text)
        }
    }
}

async fn other_libraries(s: &Services, m: &Inbound) -> Result<Reply, HandlerError> {
    let lang = s.lang;
    let d = s.db.dialog(&m.from_user, unix_now()).await?;
    let Some(query) = d.query.clone() else {
        return Ok(Reply::text(if lang == Lang::Zh {
            "请先发送书名、作者或关键词检索，再回复“其他馆”查看合作图书馆的馆藏。"
        } else {
            "Search for something first, then reply \"other libraries\" to see partner libraries' holdings."
        }));
    };
    let field = d.mode.as_deref().and_then(parse_field).unwrap_or(SearchField::Any);
    let per = s.config.partners.chat_hits_per_partner;
    let answers = federated::search_partners(s, &query, field, per).await;
    if answers.is_empty() {
        return Ok(Reply::text(if lang == Lang::Zh {
            "本馆还没有设置合作图书馆。"
        } else {
            "No partner libraries are set up yet."
        }));
    }
    let head = if lang == Lang::Zh { format!("“{query}”在合作图书馆：") } else { format!("\"{query}\" at partner libraries:") };
    let link = format!(
        "{}/opac/search?q={}&field={}",
        s.config.server.public_url,
        crate::web::urlencode(&query),
        crate::catalog::field_name(field)
    );
    let more = if lang == Lang::Zh {
        format!("<a href=\"{link}\">在网页上按馆查看</a>")
    } else {
        format!("<a href=\"{link}\">See each library on the web</a>")
    };
    Ok(Reply::text(format!("{head}\n\n{}\n\n{more}", render_partners(&answers, lang, per))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partners::sru_client::{RemoteHit, RemoteResults};

    fn answer(name: &str, outcome: Outcome) -> PartnerAnswer {
        PartnerAnswer { partner_id: 1, name: name.into(), took_ms: 5, outcome }
    }

    #[test]
    fn partners_are_labelled_and_the_silent_ones_named_last() {
        let hit = RemoteHit {
            title: "Children and drama".into(),
            author: Some("McCaslin, Nellie".into()),
            year: Some(1999),
            ..Default::default()
        };
        let answers = vec![
            answer("慢馆", Outcome::Failed { reason: "no answer within 1500 ms".into(), timed_out: true }),
            answer("乙馆", Outcome::Answered(RemoteResults { total: 15, hits: vec![hit.clone(); 5] })),
            answer("丙馆", Outcome::Answered(RemoteResults::default())),
            answer("坏馆", Outcome::Failed { reason: "bad XML".into(), timed_out: false }),
        ];
        let zh = render_partners(&answers, Lang::Zh, 3);
        assert!(zh.starts_with("【乙馆】馆藏 15 条：\n1. Children and drama / McCaslin, Nellie (1999)\n2. "), "{zh}");
        assert!(!zh.contains("\n4. "), "at most 3 per partner");
        assert!(zh.contains("【丙馆】没有找到。"));
        assert!(zh.ends_with("【慢馆】未在时限内响应，已跳过。\n\n【坏馆】暂时无法访问，已跳过。"), "{zh}");
        let en = render_partners(&answers, Lang::En, 1);
        assert!(en.contains("[乙馆] holds 15:\n1. Children and drama") && en.contains("[慢馆] did not answer in time; skipped."), "{en}");
        assert!(render_partners(&[], Lang::Zh, 3).is_empty());
    }

    #[test]
    fn the_words_that_ask_for_other_libraries() {
        for w in ["其他馆", " 其它馆 ", "Other Libraries", "other library"] {
            assert!(is_other_libraries(w), "{w}");
        }
        for w in ["其他", "other", "三体"] {
            assert!(!is_other_libraries(w), "{w}");
        }
    }
}
