//! The console's home page (`/console`): the state of the account at a glance — followers, today's
//! opening hours, whether the saved menu is the published one — and a link to every section.

use axum::extract::State;
use axum::response::Html;

use crate::console::layout::page;
use crate::console::{ConsoleError, Librarian};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;

/// `GET /console`: the state of the account at a glance, and where to go.
pub async fn home(State(s): State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let items = [
        ("/console/menu", t(lang, "菜单：编辑并发布公众号菜单", "Menu: edit and publish the account's menu")),
        ("/console/hours", t(lang, "开放时间：每周安排与节假日调整", "Opening hours: weekly schedule and holiday changes")),
        ("/console/resources", t(lang, "新资源：新书与数据库", "New resources: new books and databases")),
        ("/console/pages", t(lang, "新生指南与关于我们", "Freshman guide and about us")),
        ("/console/activities", t(lang, "活动：报名、签到、总结", "Activities: sign-up, check-in, report")),
        ("/console/inbox", t(lang, "咨询：回复读者留言", "Inbox: answer readers' questions")),
        ("/console/answers", t(lang, "自动回复：关键词规则", "Answers: keyword rules")),
        ("/console/reach", t(lang, "推广：渠道海报、推荐码与抽奖", "Reach: channel posters, referrals and draws")),
        ("/console/analytics", t(lang, "数据分析：关注、菜单、检索、绑定率", "Analytics: followers, menu, searches, bind rate")),
        ("/console/broadcasts", t(lang, "图文消息：群发与阅读率", "News messages: mass sends and read rates")),
        ("/console/partners", t(lang, "合作图书馆：联合检索（SRU）", "Partner libraries: federated search (SRU)")),
    ];
    let list: String = items.iter().map(|(href, what)| format!("<li><a href=\"{href}\">{what}</a></li>")).collect();
    let hello = match lang {
        Lang::Zh => format!("你好，{}。", crate::web::escape(&lib.username)),
        Lang::En => format!("Hello, {}.", crate::web::escape(&lib.username)),
    };
    // At a glance: followers, today's hours, whether the saved menu is the published one.
    let followers = s.db.count_followers().await?;
    let today = crate::clock::day_of(s.clock.now());
    let hours: String =
        s.db.hours_on(today)
            .await?
            .iter()
            .map(|h| {
                let reason = h.reason.as_deref().map(|r| format!(" ({})", crate::web::escape(r))).unwrap_or_default();
                format!(
                    "<li>{}: {}{reason}</li>",
                    crate::web::escape(h.place.display(lang)),
                    crate::news::hours::describe_intervals(&h.intervals, lang)
                )
            })
            .collect();
    let menu_state = match (crate::menu::pushed_menu(&s).await?, crate::menu::current_menu(&s).await?) {
        (Some((pushed, _)), current) if pushed == current => {
            t(lang, "菜单：已发布的就是最新保存的。", "Menu: the saved menu is published.")
        }
        (Some(_), _) => t(lang, "菜单：有已保存但尚未发布的修改。", "Menu: saved changes are not published yet."),
        (None, _) => t(lang, "菜单：尚未从后台发布。", "Menu: not published from the console yet."),
    };
    let glance = format!(
        "<div class=\"card\" id=\"glance\"><p>{} <b id=\"followers\">{followers}</b></p><p>{} {}</p><ul>{}</ul><p><a href=\"/console/menu\">{menu_state}</a></p></div>",
        t(lang, "关注者：", "Followers:"),
        t(lang, "今天开放时间", "Today's hours"),
        crate::clock::day_string(today),
        if hours.is_empty() {
            format!("<li><a href=\"/console/hours\">{}</a></li>", t(lang, "尚未设置开放时间", "Opening hours are not set yet"))
        } else {
            hours
        },
    );
    Ok(page(&lib, t(lang, "首页", "Home"), &format!("<div class=\"card\"><p id=\"hello\">{hello}</p><ul>{list}</ul></div>{glance}")))
}
