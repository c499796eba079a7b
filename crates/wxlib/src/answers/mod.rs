//! Keyword answers: librarians' rules for the common questions ("开放时间", "借书证丢了"…). A rule
//! matches a reader's text exactly, by containment, or by a regular expression; the matching rule
//! with the highest priority answers, with a text or with one article (a news reply). Rules are
//! tried before the catalog search. Every node keeps them compiled in memory and reloads them
//! when the version counter in the database moved (one cheap read per text), so an edit in the
//! console is live on all nodes at once.

pub mod chat;
pub mod console;
pub mod store;

use std::sync::{Arc, RwLock};

use wechat::{Article, Reply};

use crate::db::{Db, DbError};

/// Longest pattern a librarian may enter (characters).
pub const MAX_PATTERN_CHARS: usize = 200;
/// WeChat cuts text replies at about 2048 bytes; leave room.
pub const MAX_TEXT_BYTES: usize = 2000;
/// Compiled-regex size cap, so a pathological pattern cannot eat memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Exact,
    Contains,
    Pattern,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Contains => "contains",
            MatchKind::Pattern => "pattern",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "exact" => Some(MatchKind::Exact),
            "contains" => Some(MatchKind::Contains),
            "pattern" => Some(MatchKind::Pattern),
            _ => None,
        }
    }
}

/// What a rule answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Text(String),
    /// One article: a news reply with a single card.
    Article {
        title: String,
        description: String,
        url: String,
        pic_url: String,
    },
}

impl Answer {
    pub fn reply(&self) -> Reply {
        match self {
            Answer::Text(t) => Reply::text(t.clone()),
            Answer::Article { title, description, url, pic_url } => Reply::News {
                articles: vec![Article {
                    title: title.clone(),
                    description: description.clone(),
                    pic_url: pic_url.clone(),
                    url: url.clone(),
                }],
            },
        }
    }
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: i64,
    pub match_kind: MatchKind,
    pub pattern: String,
    pub priority: i64,
    pub answer: Answer,
    pub enabled: bool,
}

/// A rule as typed in a form, before validation.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct RuleInput {
    pub match_kind: String,
    pub pattern: String,
    pub priority: String,
    pub answer_kind: String,
    pub answer_text: String,
    pub title: String,
    pub description: String,
    pub url: String,
    pub pic_url: String,
    /// "on" when the checkbox is ticked.
    pub enabled: Option<String>,
}

/// Why a rule was refused; each says which field and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("match kind must be exact, contains or pattern / 匹配方式须为 完全匹配、包含 或 正则")]
    MatchKind,
    #[error("the keyword or pattern is empty / 关键词不能为空")]
    EmptyPattern,
    #[error("the keyword or pattern is longer than {MAX_PATTERN_CHARS} characters / 关键词过长")]
    LongPattern,
    #[error("the pattern is not a valid regular expression / 正则表达式无效: {0}")]
    BadRegex(String),
    #[error("priority must be a whole number from -1000 to 1000 / 优先级须为 -1000 到 1000 的整数")]
    Priority,
    #[error("answer kind must be text or article / 回复类型须为 文本 或 图文")]
    AnswerKind,
    #[error("the answer text is empty / 回复内容不能为空")]
    EmptyText,
    #[error("the answer text is longer than {MAX_TEXT_BYTES} bytes, which WeChat would cut / 回复内容过长")]
    LongText,
    #[error("an article needs a title of at most 64 characters / 图文标题不能为空且不超过 64 字")]
    Title,
    #[error("the article link must be an http:// or https:// URL / 图文链接须以 http:// 或 https:// 开头")]
    Url,
    #[error("the picture link must be empty or an http:// or https:// URL / 图片链接须为空或以 http(s):// 开头")]
    PicUrl,
    #[error("the description is longer than 120 characters / 摘要不超过 120 字")]
    Description,
}

fn is_http_url(s: &str) -> bool {
    (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && s.len() <= 1024
        && !s.chars().any(char::is_whitespace)
}

fn compile(pattern: &str) -> Result<regex::Regex, RuleError> {
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| RuleError::BadRegex(e.to_string()))
}

impl RuleInput {
    /// Checks every field; on success the rule (id 0) ready to store.
    pub fn validate(&self) -> Result<Rule, RuleError> {
        let match_kind = MatchKind::parse(self.match_kind.trim()).ok_or(RuleError::MatchKind)?;
        let pattern = self.pattern.trim().to_owned();
        if pattern.is_empty() {
            return Err(RuleError::EmptyPattern);
        }
        if pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(RuleError::LongPattern);
        }
        if match_kind == MatchKind::Pattern {
            compile(&pattern)?;
        }
        let priority = match self.priority.trim() {
            "" => 0,
            p => p.parse::<i64>().ok().filter(|p| (-1000..=1000).contains(p)).ok_or(RuleError::Priority)?,
        };
        let answer = match self.answer_kind.trim() {
            "text" => {
                let t = self.answer_text.trim();
                if t.is_empty() {
                    return Err(RuleError::EmptyText);
                }
                if t.len() > MAX_TEXT_BYTES {
                    return Err(RuleError::LongText);
                }
                Answer::Text(t.replace("\r\n", "\n"))
            }
            "article" => {
                let title = self.title.trim();
                if title.is_empty() || title.chars().count() > 64 {
                    return Err(RuleError::Title);
                }
                let url = self.url.trim();
                if !is_http_url(url) {
                    return Err(RuleError::Url);
                }
                let pic = self.pic_url.trim();
                if !pic.is_empty() && !is_http_url(pic) {
                    return Err(RuleError::PicUrl);
                }
                let description = self.description.trim();
                if description.chars().count() > 120 {
                    return Err(RuleError::Description);
                }
                Answer::Article { title: title.into(), description: description.into(), url: url.into(), pic_url: pic.into() }
            }
            _ => return Err(RuleError::AnswerKind),
        };
        Ok(Rule { id: 0, match_kind, pattern, priority, answer, enabled: self.enabled.is_some() })
    }

    /// The form filled with a stored rule (for editing).
    pub fn from_rule(r: &Rule) -> Self {
        let mut i = RuleInput {
            match_kind: r.match_kind.as_str().into(),
            pattern: r.pattern.clone(),
            priority: r.priority.to_string(),
            enabled: r.enabled.then(|| "on".into()),
            ..Default::default()
        };
        match &r.answer {
            Answer::Text(t) => {
                i.answer_kind = "text".into();
                i.answer_text = t.clone();
            }
            Answer::Article { title, description, url, pic_url } => {
                i.answer_kind = "article".into();
                i.title = title.clone();
                i.description = description.clone();
                i.url = url.clone();
                i.pic_url = pic_url.clone();
            }
        }
        i
    }
}

/// How a reader's text is compared: trimmed, ASCII case folded, full-width ？！ and spaces as typed.
fn normalise(text: &str) -> String {
    text.trim().to_lowercase()
}

enum Matcher {
    Exact(String),
    Contains(String),
    Pattern(regex::Regex),
}

impl Matcher {
    fn new(kind: MatchKind, pattern: &str) -> Result<Self, RuleError> {
        Ok(match kind {
            MatchKind::Exact => Matcher::Exact(normalise(pattern)),
            MatchKind::Contains => Matcher::Contains(normalise(pattern)),
            MatchKind::Pattern => Matcher::Pattern(compile(pattern)?),
        })
    }

    fn matches(&self, raw: &str, normalised: &str) -> bool {
        match self {
            Matcher::Exact(p) => normalised == p,
            Matcher::Contains(p) => normalised.contains(p.as_str()),
            Matcher::Pattern(re) => re.is_match(raw.trim()),
        }
    }
}

/// The enabled rules, compiled, highest priority first (ties: the older rule first).
pub struct RuleSet {
    pub version: i64,
    rules: Vec<(Rule, Matcher)>,
}

impl RuleSet {
    pub fn new(version: i64, mut rules: Vec<Rule>) -> Self {
        rules.retain(|r| r.enabled);
        rules.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
        let rules = rules
            .into_iter()
            .filter_map(|r| match Matcher::new(r.match_kind, &r.pattern) {
                Ok(m) => Some((r, m)),
                Err(e) => {
                    // Validated on save; a stored pattern that no longer compiles is skipped, not fatal.
                    tracing::warn!(rule = r.id, error = %e, "answer rule skipped");
                    None
                }
            })
            .collect();
        Self { version, rules }
    }

    /// The rule that answers `text`, if any.
    pub fn find(&self, text: &str) -> Option<&Rule> {
        let n = normalise(text);
        self.rules.iter().find(|(_, m)| m.matches(text, &n)).map(|(r, _)| r)
    }
}

/// The in-memory copy of the rules, shared by the handlers of one node.
#[derive(Clone)]
pub struct AnswerBook {
    current: Arc<RwLock<Arc<RuleSet>>>,
    /// The rules' version in the store, looked at once a [`crate::recent::FRESH_FOR`] rather
    /// than for every text.
    version: crate::recent::Recent<i64>,
}

impl Default for AnswerBook {
    fn default() -> Self {
        Self { current: Arc::new(RwLock::new(Arc::new(RuleSet::new(-1, Vec::new())))), version: Default::default() }
    }
}

impl AnswerBook {
    /// The rules as of now: reloaded when their version moved. This node's edits are seen at
    /// once (they call [`AnswerBook::forget`]); another node's within [`crate::recent::FRESH_FOR`].
    pub async fn rules(&self, db: &Db) -> Result<Arc<RuleSet>, DbError> {
        let version = *self.version.get_or_load(|| db.answer_rules_version()).await?;
        let cached = self.current.read().map(|g| g.clone()).unwrap_or_else(|p| p.into_inner().clone());
        if cached.version == version {
            return Ok(cached);
        }
        let fresh = Arc::new(RuleSet::new(version, db.answer_rules().await?));
        match self.current.write() {
            Ok(mut g) => *g = fresh.clone(),
            Err(p) => *p.into_inner() = fresh.clone(),
        }
        Ok(fresh)
    }

    /// The rules changed here: the next text reads their version again.
    pub fn forget(&self) {
        self.version.forget();
    }

    /// The answer for a reader's text, if a rule has one.
    pub async fn answer(&self, db: &Db, text: &str) -> Result<Option<Rule>, DbError> {
        Ok(self.rules(db).await?.find(text).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, pattern: &str, priority: &str, text: &str) -> RuleInput {
        RuleInput {
            match_kind: kind.into(),
            pattern: pattern.into(),
            priority: priority.into(),
            answer_kind: "text".into(),
            answer_text: text.into(),
            enabled: Some("on".into()),
            ..Default::default()
        }
    }

    fn rule(id: i64, kind: &str, pattern: &str, priority: &str, text: &str) -> Rule {
        Rule { id, ..input(kind, pattern, priority, text).validate().unwrap() }
    }

    #[test]
    fn exact_contains_and_pattern_match_as_named() {
        let set = RuleSet::new(
            1,
            vec![
                rule(1, "exact", "WiFi", "0", "wifi"),
                rule(2, "contains", "借书证", "0", "card"),
                rule(3, "pattern", r"^(几点|什么时候).*(开门|开馆)", "0", "hours"),
            ],
        );
        assert_eq!(set.find("  wifi ").map(|r| r.id), Some(1));
        assert_eq!(set.find("wifi 密码").map(|r| r.id), None, "exact means the whole text");
        assert_eq!(set.find("我的借书证丢了怎么办").map(|r| r.id), Some(2));
        assert_eq!(set.find("几点开馆？").map(|r| r.id), Some(3));
        assert_eq!(set.find("三体"), None);
    }

    #[test]
    fn the_highest_priority_wins_then_the_oldest() {
        let set = RuleSet::new(
            1,
            vec![
                rule(1, "contains", "图书馆", "0", "low"),
                rule(2, "contains", "开放", "5", "high"),
                rule(3, "contains", "开放", "5", "later"),
            ],
        );
        assert_eq!(set.find("图书馆开放时间").map(|r| r.id), Some(2));
        assert_eq!(set.find("图书馆在哪").map(|r| r.id), Some(1));
    }

    #[test]
    fn disabled_rules_never_answer() {
        let mut r = rule(1, "exact", "wifi", "0", "x");
        r.enabled = false;
        assert!(RuleSet::new(1, vec![r]).find("wifi").is_none());
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        assert!(matches!(input("pattern", "(开放", "0", "x").validate(), Err(RuleError::BadRegex(_))));
        assert_eq!(input("fuzzy", "a", "0", "x").validate(), Err(RuleError::MatchKind));
        assert_eq!(input("exact", "  ", "0", "x").validate(), Err(RuleError::EmptyPattern));
        assert_eq!(input("exact", "a", "high", "x").validate(), Err(RuleError::Priority));
        assert_eq!(input("exact", "a", "5000", "x").validate(), Err(RuleError::Priority));
        assert_eq!(input("exact", "a", "0", " ").validate(), Err(RuleError::EmptyText));
        assert_eq!(input("exact", "a", "0", &"长".repeat(700)).validate(), Err(RuleError::LongText));
        let mut a = input("exact", "a", "0", "");
        a.answer_kind = "article".into();
        a.title = "指南".into();
        a.url = "javascript:alert(1)".into();
        assert_eq!(a.validate(), Err(RuleError::Url));
        a.url = "https://lib.example.edu/guide".into();
        assert!(matches!(a.validate().unwrap().answer, Answer::Article { .. }));
    }
}
