//! Typed passive replies (reference §4) and their XML. The header is swapped: `ToUserName` is the
//! reader, `FromUserName` our gh_ id. Rules enforced here rather than discovered in production:
//! a reply to a reader's *message* may carry one news article (8 for events); an empty text reply
//! shows readers an error, so it is refused; "no reply" is the literal body `success`.

use std::fmt::Write as _;

use crate::xml::cdata;

pub const MAX_ARTICLES_FOR_MESSAGE: usize = 1;
pub const MAX_ARTICLES_FOR_EVENT: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Article {
    pub title: String,
    pub description: String,
    pub pic_url: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// No passive reply: the body `success`.
    Success,
    Text {
        content: String,
    },
    Image {
        media_id: String,
    },
    Voice {
        media_id: String,
    },
    Video {
        media_id: String,
        title: String,
        description: String,
    },
    Music {
        title: String,
        description: String,
        music_url: String,
        hq_music_url: String,
        thumb_media_id: String,
    },
    News {
        articles: Vec<Article>,
    },
    /// Hand the conversation to WeChat's customer-service system.
    TransferCustomerService {
        kf_account: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("{count} news articles, but at most {max} are allowed in this reply")]
    TooManyArticles { count: usize, max: usize },
    #[error("a news reply needs at least one article")]
    NoArticles,
    #[error("an empty text reply makes WeChat show an error to the reader")]
    EmptyText,
}

impl Reply {
    pub fn text(content: impl Into<String>) -> Self {
        Reply::Text { content: content.into() }
    }

    /// Checks WeChat's rules for a reply to a message (`to_user_message = true`) or to an event.
    pub fn validate(&self, to_user_message: bool) -> Result<(), ReplyError> {
        match self {
            Reply::Text { content } if content.trim().is_empty() => Err(ReplyError::EmptyText),
            Reply::News { articles } if articles.is_empty() => Err(ReplyError::NoArticles),
            Reply::News { articles } => {
                let max = if to_user_message { MAX_ARTICLES_FOR_MESSAGE } else { MAX_ARTICLES_FOR_EVENT };
                if articles.len() > max { Err(ReplyError::TooManyArticles { count: articles.len(), max }) } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    /// Renders the reply XML, or `None` for [`Reply::Success`] (whose body is the word `success`).
    pub fn to_xml(&self, to_user: &str, from_user: &str, create_time: i64) -> Option<String> {
        let msg_type = match self {
            Reply::Success => return None,
            Reply::Text { .. } => "text",
            Reply::Image { .. } => "image",
            Reply::Voice { .. } => "voice",
            Reply::Video { .. } => "video",
            Reply::Music { .. } => "music",
            Reply::News { .. } => "news",
            Reply::TransferCustomerService { .. } => "transfer_customer_service",
        };
        let mut x = String::with_capacity(256);
        x.push_str("<xml><ToUserName>");
        cdata(&mut x, to_user);
        x.push_str("</ToUserName><FromUserName>");
        cdata(&mut x, from_user);
        x.push_str("</FromUserName><CreateTime>");
        let _ = write!(x, "{create_time}"); // writing to a String cannot fail
        x.push_str("</CreateTime><MsgType>");
        cdata(&mut x, msg_type);
        x.push_str("</MsgType>");
        let tag = |x: &mut String, name: &str, value: &str| {
            x.push('<');
            x.push_str(name);
            x.push('>');
            cdata(x, value);
            x.push_str("</");
            x.push_str(name);
            x.push('>');
        };
        match self {
            Reply::Success => {}
            Reply::Text { content } => tag(&mut x, "Content", content),
            Reply::Image { media_id } => {
                x.push_str("<Image>");
                tag(&mut x, "MediaId", media_id);
                x.push_str("</Image>");
            }
            Reply::Voice { media_id } => {
                x.push_str("<Voice>");
                tag(&mut x, "MediaId", media_id);
                x.push_str("</Voice>");
            }
            Reply::Video { media_id, title, description } => {
                x.push_str("<Video>");
                tag(&mut x, "MediaId", media_id);
                tag(&mut x, "Title", title);
                tag(&mut x, "Description", description);
                x.push_str("</Video>");
            }
            Reply::Music { title, description, music_url, hq_music_url, thumb_media_id } => {
                x.push_str("<Music>");
                tag(&mut x, "Title", title);
                tag(&mut x, "Description", description);
                tag(&mut x, "MusicUrl", music_url);
                tag(&mut x, "HQMusicUrl", hq_music_url);
                tag(&mut x, "ThumbMediaId", thumb_media_id);
                x.push_str("</Music>");
            }
            Reply::News { articles } => {
                x.push_str("<ArticleCount>");
                x.push_str(&articles.len().to_string());
                x.push_str("</ArticleCount><Articles>");
                for a in articles {
                    x.push_str("<item>");
                    tag(&mut x, "Title", &a.title);
                    tag(&mut x, "Description", &a.description);
                    tag(&mut x, "PicUrl", &a.pic_url);
                    tag(&mut x, "Url", &a.url);
                    x.push_str("</item>");
                }
                x.push_str("</Articles>");
            }
            Reply::TransferCustomerService { kf_account } => {
                if let Some(kf) = kf_account {
                    x.push_str("<TransInfo>");
                    tag(&mut x, "KfAccount", kf);
                    x.push_str("</TransInfo>");
                }
            }
        }
        x.push_str("</xml>");
        Some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml;

    fn article(n: usize) -> Article {
        Article { title: format!("t{n}"), description: "d".into(), pic_url: "p".into(), url: "u".into() }
    }

    #[test]
    fn text_reply_swaps_header_and_escapes() {
        let x = Reply::text("馆藏 3 册 ]]> ok").to_xml("oUser", "gh_lib", 1700000000).unwrap();
        let el = xml::parse(x.as_bytes()).unwrap();
        assert_eq!(el.child_text("ToUserName"), Some("oUser"));
        assert_eq!(el.child_text("FromUserName"), Some("gh_lib"));
        assert_eq!(el.child_text("MsgType"), Some("text"));
        assert_eq!(el.child_text("Content"), Some("馆藏 3 册 ]]> ok"));
    }

    #[test]
    fn every_reply_type_renders_parseable_xml() {
        let replies = [
            Reply::Image { media_id: "m".into() },
            Reply::Voice { media_id: "m".into() },
            Reply::Video { media_id: "m".into(), title: "t".into(), description: "d".into() },
            Reply::Music {
                title: "t".into(),
                description: "d".into(),
                music_url: "u".into(),
                hq_music_url: "h".into(),
                thumb_media_id: "th".into(),
            },
            Reply::News { articles: vec![article(1), article(2)] },
            Reply::TransferCustomerService { kf_account: Some("kf@lib".into()) },
            Reply::TransferCustomerService { kf_account: None },
        ];
        for r in replies {
            let x = r.to_xml("o", "gh", 1).unwrap();
            xml::parse(x.as_bytes()).unwrap();
        }
        assert_eq!(Reply::Success.to_xml("o", "gh", 1), None);
        let x = Reply::News { articles: vec![article(1), article(2)] }.to_xml("o", "gh", 1).unwrap();
        let el = xml::parse(x.as_bytes()).unwrap();
        assert_eq!(el.child_text("ArticleCount"), Some("2"));
        assert_eq!(el.child("Articles").map(|a| a.children.len()), Some(2));
    }

    #[test]
    fn article_limits() {
        let two = Reply::News { articles: vec![article(1), article(2)] };
        assert_eq!(two.validate(true), Err(ReplyError::TooManyArticles { count: 2, max: 1 }));
        assert_eq!(two.validate(false), Ok(()));
        let nine = Reply::News { articles: (0..9).map(article).collect() };
        assert_eq!(nine.validate(false), Err(ReplyError::TooManyArticles { count: 9, max: 8 }));
        assert_eq!(Reply::text("  ").validate(true), Err(ReplyError::EmptyText));
    }
}
