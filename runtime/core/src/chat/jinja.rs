//! The model's own `tokenizer.chat_template`, rendered with minijinja (feature `std`).
//!
//! Set up as llama.cpp's jinja path (`common_chat_templates_apply` with `use_jinja`) and
//! HF transformers set up theirs: `trim_blocks` and `lstrip_blocks` on, one trailing newline
//! of the source dropped, lenient undefined values, Python string/dict methods
//! (`split`, `strip`, `startswith`, `items`, …) through minijinja-contrib's `pycompat`.
//! Globals: `messages` (list of `{role, content}`), `bos_token`, `eos_token`,
//! `add_generation_prompt` (set only when true, as llama.cpp does), `enable_thinking`
//! (true), `datetime` ("%b %d %Y") and `date_string` ("%d %b %Y"); functions
//! `raise_exception(msg)` and `strftime_now(fmt)`. No `tools`.
//! Times are UTC (llama.cpp uses the local time zone).
//!
//! A template comes from the model file: untrusted input. Rendering is bounded so that a
//! hostile template ends in a [`ChatError`] quickly instead of hanging or filling memory:
//! the source is at most [`MAX_SOURCE_BYTES`]; a render runs at most [`FUEL`] VM
//! instructions (minijinja's fuel: nested loops end there, in well under a second) and
//! nests macro calls, recursive loops and includes at most [`MAX_RECURSION`] deep; its
//! output is cut off with an error at [`MAX_OUTPUT_BYTES`] (written through a capped
//! writer, never materialised beyond it); `range()` is capped at 100,000 items by minijinja.
//! Real chat templates use a few thousand instructions per message.

use std::string::String;
use std::time::{SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use minijinja::{Environment, Error, ErrorKind, Value};

use super::{ChatError, Message};

const NAME: &str = "chat_template";

/// Largest template source accepted (bytes). Real templates are 1–30 KB.
pub const MAX_SOURCE_BYTES: usize = 1 << 20;
/// VM instructions one render may run.
pub const FUEL: u64 = 20_000_000;
/// Deepest nesting of macro calls, recursive loops and includes.
pub const MAX_RECURSION: usize = 32;
/// Largest rendered prompt (bytes): far past any context a session can hold.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;

/// A compiled chat template.
#[derive(Debug)]
pub struct JinjaTemplate {
    env: Environment<'static>,
}

impl JinjaTemplate {
    /// Compiles `source`. Errors: `TemplateSyntax` with minijinja's message.
    pub fn new(source: &str) -> Result<Self, ChatError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(ChatError::TemplateSyntax(format!(
                "the template has {} bytes, more than the limit of {MAX_SOURCE_BYTES}",
                source.len()
            )));
        }
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(MAX_RECURSION);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(false);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", |fmt: String| -> Result<String, Error> {
            Ok(strftime(&fmt, unix_now()))
        });
        env.add_template_owned(NAME, String::from(source))
            .map_err(|e| ChatError::TemplateSyntax(describe(&e)))?;
        Ok(JinjaTemplate { env })
    }

    /// Renders `messages` with the current time. See [`Self::render_at`].
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        bos_token: &str,
        eos_token: &str,
    ) -> Result<String, ChatError> {
        self.render_at(
            messages,
            add_generation_prompt,
            bos_token,
            eos_token,
            unix_now(),
        )
    }

    /// Renders `messages` as the template writes them (BOS text included where the template
    /// puts it; see [`super::strip_leading_bos`]). `now`: seconds since the Unix epoch for
    /// `datetime` / `date_string` (`strftime_now` reads the clock).
    /// Errors: `TemplateRender` (including `raise_exception`).
    pub fn render_at(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        bos_token: &str,
        eos_token: &str,
        now: i64,
    ) -> Result<String, ChatError> {
        let msgs: Vec<Value> = messages
            .iter()
            .map(|m| {
                Value::from_iter([
                    ("role", Value::from(m.role.as_str())),
                    ("content", Value::from(m.content.as_str())),
                ])
            })
            .collect();
        let mut ctx: Vec<(&str, Value)> = vec![
            ("messages", Value::from(msgs)),
            ("bos_token", Value::from(bos_token)),
            ("eos_token", Value::from(eos_token)),
            ("enable_thinking", Value::from(true)),
            ("datetime", Value::from(strftime("%b %d %Y", now))),
            ("date_string", Value::from(strftime("%d %b %Y", now))),
        ];
        if add_generation_prompt {
            ctx.push(("add_generation_prompt", Value::from(true)));
        }
        let tmpl = self
            .env
            .get_template(NAME)
            .map_err(|e| ChatError::TemplateRender(describe(&e)))?;
        let mut out = Capped {
            buf: Vec::new(),
            full: false,
        };
        let r = tmpl.render_captured_to(Value::from_iter(ctx), &mut out);
        if out.full {
            return Err(ChatError::TemplateRender(format!(
                "the rendered prompt would exceed {MAX_OUTPUT_BYTES} bytes"
            )));
        }
        r.map_err(|e| ChatError::TemplateRender(describe(&e)))?;
        // The VM writes whole UTF-8 strings.
        String::from_utf8(out.buf)
            .map_err(|_| ChatError::TemplateRender("the output is not UTF-8".into()))
    }
}

/// A buffer that refuses to grow past [`MAX_OUTPUT_BYTES`] (and remembers that it did).
struct Capped {
    buf: Vec<u8>,
    full: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(buf.len()) > MAX_OUTPUT_BYTES {
            self.full = true;
            return Err(std::io::ErrorKind::OutOfMemory.into());
        }
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn raise_exception(msg: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, msg))
}

/// minijinja's error with its detail and line ("… (in chat_template:3)").
fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    if let Some(d) = e.detail() {
        if !s.contains(d) {
            s.push_str(": ");
            s.push_str(d);
        }
    }
    s
}

fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// (year, month 1-12, day 1-31) of a count of days since 1970-01-01 (proleptic Gregorian;
/// the era-based civil-from-days method).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// C `strftime` for a UTC time, for the conversions chat templates use:
/// `%Y %y %m %d %e %j %H %I %M %S %p %b %h %B %a %A %F %T %D %%`. Other `%x` pass through.
pub(crate) fn strftime(fmt: &str, unix: i64) -> String {
    use std::fmt::Write;
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let wd = days.rem_euclid(7) as usize;
    let yday = days - days_from_civil(y, 1, 1) + 1;
    let month = MONTHS[(m - 1) as usize];
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let _ = match chars.next() {
            Some('Y') => write!(out, "{y}"),
            Some('y') => write!(out, "{:02}", y.rem_euclid(100)),
            Some('m') => write!(out, "{m:02}"),
            Some('d') => write!(out, "{d:02}"),
            Some('e') => write!(out, "{d:2}"),
            Some('j') => write!(out, "{yday:03}"),
            Some('H') => write!(out, "{hh:02}"),
            Some('I') => write!(out, "{:02}", if hh % 12 == 0 { 12 } else { hh % 12 }),
            Some('M') => write!(out, "{mm:02}"),
            Some('S') => write!(out, "{ss:02}"),
            Some('p') => write!(out, "{}", if hh < 12 { "AM" } else { "PM" }),
            Some('b') | Some('h') => write!(out, "{}", &month[..3]),
            Some('B') => write!(out, "{month}"),
            Some('a') => write!(out, "{}", &DAYS[wd][..3]),
            Some('A') => write!(out, "{}", DAYS[wd]),
            Some('F') => write!(out, "{y}-{m:02}-{d:02}"),
            Some('T') => write!(out, "{hh:02}:{mm:02}:{ss:02}"),
            Some('D') => write!(out, "{m:02}/{d:02}/{:02}", y.rem_euclid(100)),
            Some('%') => write!(out, "%"),
            Some(o) => write!(out, "%{o}"),
            None => write!(out, "%"),
        };
    }
    out
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_known_dates() {
        // 2025-01-20 12:34:56 UTC, a Monday (R1's release day).
        let t = 1_737_376_496;
        assert_eq!(strftime("%d %b %Y", t), "20 Jan 2025");
        assert_eq!(strftime("%b %d %Y", t), "Jan 20 2025");
        assert_eq!(
            strftime("%A %F %T %j %I%p %%", t),
            "Monday 2025-01-20 12:34:56 020 12PM %"
        );
        assert_eq!(strftime("%Y-%m-%d %a", 0), "1970-01-01 Thu");
        assert_eq!(strftime("%F %B", 951_782_400), "2000-02-29 February");
        assert_eq!(days_from_civil(2000, 2, 29), 951_782_400 / 86_400);
    }

    #[test]
    fn raise_exception_is_an_error() {
        let t = JinjaTemplate::new("{{ raise_exception('no system role') }}").unwrap();
        let e = t.render_at(&[], false, "", "", 0).unwrap_err();
        assert!(
            matches!(&e, ChatError::TemplateRender(m) if m.contains("no system role")),
            "{e:?}"
        );
    }

    #[test]
    fn syntax_error_is_reported() {
        assert!(matches!(
            JinjaTemplate::new("{% if %}"),
            Err(ChatError::TemplateSyntax(_))
        ));
    }

    #[test]
    fn globals_and_python_methods() {
        let t = JinjaTemplate::new(
            "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt is defined }}|\
             {{ 'a</think>b'.split('</think>')[-1] }}|{{ '  x '.strip() }}|{{ date_string }}",
        )
        .unwrap();
        let s = t.render_at(&[], false, "<s>", "</s>", 0).unwrap();
        assert_eq!(s, "<s>|</s>|False|b|x|01 Jan 1970");
    }
}
