//! The reader's language and the texts every part of the conversation shares: the welcome, the
//! help, and the apology for a failure. Chinese is the default; English when `wechat.lang = "en"`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// The text for the language: `zh` or `en`.
pub fn t<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

impl Lang {
    pub fn from_config(s: &str) -> Self {
        if s == "en" { Lang::En } else { Lang::Zh }
    }
}

pub fn welcome(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => {
            "欢迎关注图书馆！\n\n在这里可以检索馆藏、查看借阅、续借图书、了解开放时间和活动。\n直接发送书名或作者即可检索；回复“帮助”查看全部功能。"
        }
        Lang::En => {
            "Welcome to the library!\n\nSearch the catalog, see your loans, renew books, and find opening hours and events here.\nSend a title or author to search; reply \"help\" for everything you can do."
        }
    }
}

pub fn help(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => {
            "您可以：\n· 发送书名、作者或关键词检索馆藏\n· 点击菜单“借阅信息”绑定一卡通、查看借阅、续借\n· 点击菜单“图书馆”查看开放时间与活动\n· 留言咨询，馆员会尽快回复"
        }
        Lang::En => {
            "You can:\n· send a title, author or keyword to search the catalog\n· use the \"My loans\" menu to bind your campus card, see loans and renew\n· use the \"Library\" menu for opening hours and events\n· leave a question and a librarian will answer"
        }
    }
}

/// Said when a handler failed; the failure itself is logged.
pub fn sorry(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "抱歉，系统暂时出了点问题，请稍后再试。",
        Lang::En => "Sorry, something went wrong on our side. Please try again in a moment.",
    }
}
