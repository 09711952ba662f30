//! A Hugging Face chat template, rendered as transformers' `apply_chat_template` renders it.
//!
//! What transformers does (transformers 5.x, `utils/chat_template_utils.py`): a sandboxed Jinja
//! environment with `trim_blocks` and `lstrip_blocks` on and the loop-controls extension; a
//! `tojson` filter that is Python's `json.dumps` (no HTML escaping, `ensure_ascii=False`,
//! `indent`, `separators`, `sort_keys`); globals `raise_exception(message)` and
//! `strftime_now(format)`; and the variables `messages`, `tools` and `documents` (both none here),
//! `add_generation_prompt` and the tokenizer's named special tokens (`bos_token`, `eos_token`,
//! `unk_token`, `sep_token`, `pad_token`, `cls_token`, `mask_token`, those that are set).
//! Python's string and dict methods that templates call (`.strip()`, `.items()`, ...) come from
//! minijinja-contrib's pycompat.
//!
//! Not supported: the `{% generation %}` tag (transformers' assistant-mask extension; a template
//! using it fails to load, naming the file), and `strftime_now` reads UTC where transformers
//! reads the local time zone.

use std::path::Path;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;

use super::error::{ChatError, read_json};
use super::strftime::{CivilTime, strftime};

/// The special tokens transformers passes to a template (its `SPECIAL_TOKENS_ATTRIBUTES`).
pub const SPECIAL_TOKEN_NAMES: [&str; 7] =
    ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `system`, `user` or `assistant` (templates may know others).
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// A message of `role`.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message { role: role.into(), content: content.into() }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Message {
        Message::new("system", content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message::new("user", content)
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new("assistant", content)
    }
}

/// A model's chat template and the special tokens it is rendered with.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    /// Where the template came from, for errors.
    origin: std::path::PathBuf,
    special_tokens: Vec<(&'static str, String)>,
}

/// A special token in `tokenizer_config.json`: a string, an `AddedToken` object (`content`), or null.
fn special_token(path: &Path, name: &str, v: &serde_json::Value) -> Result<Option<String>, ChatError> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s.clone())),
        serde_json::Value::Object(o) => match o.get("content") {
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            _ => Err(ChatError::field(path, name, "an added-token object needs a string `content`")),
        },
        other => Err(ChatError::field(
            path,
            name,
            format!("expected a token string, an added-token object or null, got {other}"),
        )),
    }
}

/// The named special tokens of a parsed `tokenizer_config.json`.
pub(crate) fn special_tokens(
    path: &Path,
    config: &serde_json::Value,
) -> Result<Vec<(&'static str, String)>, ChatError> {
    let mut out = Vec::new();
    for name in SPECIAL_TOKEN_NAMES {
        if let Some(v) = config.get(name)
            && let Some(token) = special_token(path, name, v)?
        {
            out.push((name, token));
        }
    }
    Ok(out)
}

impl ChatTemplate {
    /// The template of a Hugging Face model directory: `chat_template.jinja` if present (newer
    /// transformers saves it there), else `tokenizer_config.json`'s `chat_template` (a string, or
    /// a list of `{name, template}` of which the one named `default` is used); the special
    /// tokens from `tokenizer_config.json`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<ChatTemplate, ChatError> {
        let dir = dir.as_ref();
        let config_path = dir.join("tokenizer_config.json");
        let config = read_json(&config_path)?;
        let special_tokens = special_tokens(&config_path, &config)?;
        let jinja = dir.join("chat_template.jinja");
        let (source, origin) = if jinja.exists() {
            let s =
                std::fs::read_to_string(&jinja).map_err(|e| ChatError::file(&jinja, format!("cannot read: {e}")))?;
            (s, jinja)
        } else {
            let field = |m: &str| ChatError::field(&config_path, "chat_template", m.to_owned());
            let s = match config.get("chat_template") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Array(list)) => {
                    let mut default = None;
                    for (i, t) in list.iter().enumerate() {
                        let (Some(serde_json::Value::String(name)), Some(serde_json::Value::String(template))) =
                            (t.get("name"), t.get("template"))
                        else {
                            return Err(field(&format!(
                                "entry {i} is not a {{\"name\": .., \"template\": ..}} object of strings"
                            )));
                        };
                        if name == "default" {
                            default = Some(template.clone());
                        }
                    }
                    default.ok_or_else(|| field("a list of templates without one named `default`"))?
                }
                Some(other) => {
                    return Err(field(&format!("expected a string or a list of {{name, template}}, got {other}")));
                }
                None => {
                    return Err(ChatError::file(
                        dir,
                        "the model has no chat template: neither chat_template.jinja nor a `chat_template` field in tokenizer_config.json (a base model, not an instruct/chat one?)",
                    ));
                }
            };
            (s, config_path)
        };
        ChatTemplate::with_origin(source, special_tokens, origin)
    }

    /// A template from its source and the special tokens it sees (`("eos_token", "</s>")`, ...).
    pub fn new(source: impl Into<String>, special_tokens: &[(&'static str, &str)]) -> Result<ChatTemplate, ChatError> {
        let tokens = special_tokens.iter().map(|(n, t)| (*n, (*t).to_owned())).collect();
        ChatTemplate::with_origin(source.into(), tokens, "<chat template>".into())
    }

    fn with_origin(
        source: String,
        special_tokens: Vec<(&'static str, String)>,
        origin: std::path::PathBuf,
    ) -> Result<ChatTemplate, ChatError> {
        let t = ChatTemplate { source, origin, special_tokens };
        // Compile once now, so that a template minijinja cannot parse fails at load, not mid-chat.
        let env = t.environment(CivilTime::UNIX_EPOCH);
        env.template_from_str(&t.source)
            .map_err(|e| ChatError::file(&t.origin, format!("the chat template does not compile: {}", describe(&e))))?;
        Ok(t)
    }

    /// The template's source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// A special token's text (`"eos_token"`), if the tokenizer config sets it.
    pub fn special_token(&self, name: &str) -> Option<&str> {
        self.special_tokens.iter().find(|(n, _)| *n == name).map(|(_, t)| t.as_str())
    }

    /// Renders `messages` (with the assistant's turn opened when `add_generation_prompt`), the
    /// clock of `strftime_now` reading now (UTC).
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, ChatError> {
        self.render_at(messages, add_generation_prompt, CivilTime::now())
    }

    /// [`render`](Self::render) with `strftime_now` reading `now`.
    pub fn render_at(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        now: CivilTime,
    ) -> Result<String, ChatError> {
        let env = self.environment(now);
        let template = env.template_from_str(&self.source).map_err(|e| ChatError::file(&self.origin, describe(&e)))?;
        let mut ctx: Vec<(&str, Value)> = vec![
            ("messages", Value::from_serialize(messages)),
            ("tools", Value::from(())),
            ("documents", Value::from(())),
            ("add_generation_prompt", Value::from(add_generation_prompt)),
        ];
        ctx.extend(self.special_tokens.iter().map(|(n, t)| (*n, Value::from(t.as_str()))));
        let ctx: Value = ctx.into_iter().collect();
        template
            .render(ctx)
            .map_err(|e| ChatError::file(&self.origin, format!("rendering the chat template: {}", describe(&e))))
    }

    fn environment(&self, now: CivilTime) -> Environment<'_> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Jinja2's default `Undefined`: printing it gives "", using it further is an error.
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", |message: String| -> Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_function("strftime_now", move |format: String| -> Result<String, minijinja::Error> {
            strftime(&format, now).map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))
        });
        env
    }
}

/// A minijinja error with its location and cause.
fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    s
}

/// transformers' `tojson`: Python's `json.dumps(x, ensure_ascii=False, indent=None,
/// separators=None, sort_keys=False)`, each argument also accepted by keyword.
fn tojson(value: Value, indent: Option<Value>, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let bad = |m: String| minijinja::Error::new(ErrorKind::InvalidOperation, format!("tojson: {m}"));
    let indent = match indent.or(kwargs.get::<Option<Value>>("indent")?) {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) if v.kind() == ValueKind::Number => {
            Some(" ".repeat(i64::try_from(v).map_err(|_| bad("indent must be an integer".into()))?.max(0) as usize))
        }
        Some(v) if v.kind() == ValueKind::String => Some(v.as_str().unwrap_or_default().to_owned()),
        Some(v) => {
            return Err(bad(format!("indent must be an integer or a string, got {v}")));
        }
    };
    let ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    // Python's defaults: (", ", ": "), or ("," , ": ") with an indent.
    let (item_sep, key_sep) = match kwargs.get::<Option<Value>>("separators")? {
        Some(v) if !v.is_none() => {
            let parts: Vec<String> = v
                .try_iter()?
                .map(|p| p.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| bad("separators must be two strings".into()))?;
            let [a, b] = <[String; 2]>::try_from(parts).map_err(|_| bad("separators must be two strings".into()))?;
            (a, b)
        }
        _ => ((if indent.is_some() { "," } else { ", " }).to_owned(), ": ".to_owned()),
    };
    kwargs.assert_all_used()?;
    let style = JsonStyle { indent, item_sep, key_sep, ensure_ascii, sort_keys };
    let mut out = String::new();
    style.write(&value, 0, &mut out).map_err(bad)?;
    Ok(out)
}

struct JsonStyle {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    ensure_ascii: bool,
    sort_keys: bool,
}

impl JsonStyle {
    fn newline(&self, level: usize, out: &mut String) {
        if let Some(ind) = &self.indent {
            out.push('\n');
            for _ in 0..level {
                out.push_str(ind);
            }
        }
    }

    fn write(&self, v: &Value, level: usize, out: &mut String) -> Result<(), String> {
        match v.kind() {
            ValueKind::Undefined | ValueKind::None => out.push_str("null"),
            ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => out.push_str(&python_number(v)),
            ValueKind::String => self.string(v.as_str().unwrap_or_default(), out),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter().map_err(|e| e.to_string())?.collect();
                self.container('[', ']', items.len(), level, out, |i, out| self.write(&items[i], level + 1, out))?;
            }
            ValueKind::Map => {
                let mut keys: Vec<Value> = v.try_iter().map_err(|e| e.to_string())?.collect();
                if self.sort_keys {
                    keys.sort();
                }
                self.container('{', '}', keys.len(), level, out, |i, out| {
                    let k = &keys[i];
                    match k.as_str() {
                        Some(s) => self.string(s, out),
                        None => self.string(&k.to_string(), out),
                    }
                    out.push_str(&self.key_sep);
                    self.write(&v.get_item(k).map_err(|e| e.to_string())?, level + 1, out)
                })?;
            }
            other => return Err(format!("cannot serialize a {other} as JSON")),
        }
        Ok(())
    }

    fn container(
        &self,
        open: char,
        close: char,
        n: usize,
        level: usize,
        out: &mut String,
        mut item: impl FnMut(usize, &mut String) -> Result<(), String>,
    ) -> Result<(), String> {
        out.push(open);
        if n == 0 {
            out.push(close);
            return Ok(());
        }
        for i in 0..n {
            if i > 0 {
                out.push_str(&self.item_sep);
            }
            self.newline(level + 1, out);
            item(i, out)?;
        }
        self.newline(level, out);
        out.push(close);
        Ok(())
    }

    /// A JSON string as Python's `json.dumps` writes it.
    fn string(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (self.ensure_ascii && !c.is_ascii()) => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// A number as Python's `repr` writes it (`1`, `1.0`, `0.1`, `1e+20`).
fn python_number(v: &Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    // Python's repr switches to exponent notation outside [1e-4, 1e16).
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let t = ChatTemplate::new(src, &[("eos_token", "</s>")]).unwrap();
        t.render_at(&[Message::user("hi")], false, CivilTime::UNIX_EPOCH).unwrap()
    }

    #[test]
    fn tojson_is_pythons_json_dumps() {
        assert_eq!(
            render(r#"{{ {"a": [1, 2.5, 2.0, "x<y>&'"], "b": none, "c": true} | tojson }}"#),
            r#"{"a": [1, 2.5, 2.0, "x<y>&'"], "b": null, "c": true}"#
        );
        assert_eq!(
            render(r#"{{ {"a": [1, {}], "b": []} | tojson(indent=2) }}"#),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}"
        );
        assert_eq!(
            render(r#"{{ "é\n\u0001" | tojson }}|{{ "é" | tojson(ensure_ascii=true) }}"#),
            "\"é\\n\\u0001\"|\"\\u00e9\""
        );
        assert_eq!(
            render(r#"{{ {"b": 1, "a": 2} | tojson(sort_keys=true, separators=[",", ":"]) }}"#),
            r#"{"a":2,"b":1}"#
        );
    }

    #[test]
    fn raise_exception_and_python_methods() {
        let t = ChatTemplate::new("{{ raise_exception('roles must alternate') }}", &[]).unwrap();
        let e = t.render_at(&[Message::user("x")], false, CivilTime::UNIX_EPOCH).unwrap_err();
        assert!(e.message.contains("roles must alternate"), "{e}");
        assert_eq!(
            render("{{ '  a b '.strip() }}|{{ 'abc'.startswith('ab') }}|{{ messages[0].content.upper() }}"),
            "a b|True|HI"
        );
    }

    #[test]
    fn a_template_that_does_not_compile_names_its_file() {
        let e = ChatTemplate::new("{% generation %}x{% endgeneration %}", &[]).unwrap_err();
        assert!(e.message.contains("does not compile"), "{e}");
    }
}
