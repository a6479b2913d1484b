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
//!
//! Single operations that build a string from a number are bounded before they allocate:
//! minijinja caps `"x" * n` at 100 MB; `indent`, `tojson(indent=…)` and printf-style
//! `format` / Python `str.format` widths and precisions are checked here (at most
//! [`MAX_WIDTH`], and `indent`'s result at most [`MAX_OUTPUT_BYTES`]): without the check,
//! `"x"|indent(10**12)` asks the allocator for a terabyte and aborts the process.
//!
//! # Reference cycles: a namespace stored inside itself
//!
//! minijinja's values are reference-counted, and a `namespace()` is the one value a
//! template can change after building it; `{% set ns.x = [ns] %}` makes a cycle that no
//! reference count frees, so every render of such a template would leak what the cycle
//! holds (found by the chat_template fuzz target under LeakSanitizer). minijinja gives a
//! host no way to empty a namespace, so the cycle cannot be broken; instead every namespace
//! a render creates is recorded (`namespace` is replaced by a recording wrapper), and after
//! the render each is walked: one that reaches values nested deeper than
//! [`MAX_VALUE_DEPTH`] (a cycle does) makes the render an error, and the template is
//! refused from then on. A hostile template so leaks what one render built, once per load.
//!
//! # What is not bounded: intermediate strings built by concatenation
//!
//! `~` and `+` on strings allocate the sum of their operands with no limit that minijinja
//! lets a host set (no hook per operator, no memory accounting; fuel counts one unit per
//! instruction whatever the size). Each doubling (`{% set ns.s = ns.s ~ ns.s %}` in a loop,
//! or an unrolled chain of `set`s, or a recursive macro) costs about 5 instructions, so
//! 30 doublings of one byte (1 GiB) cost ~150 of the [`FUEL`]: the fuel cannot bound it,
//! and lowering it would refuse real templates long before it helped. Measured (x86-64,
//! `doubling_growth_is_not_bounded_by_fuel` prints it): 24 doublings reach 16 MiB in well
//! under a second on a few hundred instructions. What the output cap catches is a string
//! that is *printed*; one built and dropped, or measured with `|length`, is only bounded by
//! memory, and an allocation failure aborts. A host that loads model files from untrusted
//! sources should run under a memory limit (cgroup, `RLIMIT_AS`, a container), or render
//! with the built-in renderer (`bague_model_options.builtin_template`, `--builtin-template`),
//! which runs no template code.

use std::string::String;
use std::time::{SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use minijinja::value::{Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};

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
/// Deepest nesting of values a namespace may hold after a render (real templates: 2–3);
/// deeper is taken for a reference cycle (see the module docs).
pub const MAX_VALUE_DEPTH: usize = 64;
/// Values the cycle check visits at most per render before it gives up looking (it then
/// lets the render stand: only depth is evidence of a cycle).
const MAX_VALUES_VISITED: usize = 1 << 22;

std::thread_local! {
    /// The namespaces the render on this thread created, while one runs.
    static NAMESPACES: core::cell::RefCell<Option<Vec<Value>>> =
        const { core::cell::RefCell::new(None) };
}

/// Largest width, precision or indentation a filter or format string may ask for.
/// Real templates use 2 or 4.
pub const MAX_WIDTH: usize = 4096;

/// A compiled chat template.
#[derive(Debug)]
pub struct JinjaTemplate {
    env: Environment<'static>,
    /// Set once a render left a namespace in a reference cycle: rendering is refused.
    cyclic: core::sync::atomic::AtomicBool,
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
        env.set_unknown_method_callback(|state, value, method, args| {
            if method == "format" {
                if let Some(f) = value.as_str() {
                    check_format_widths(f, args)?;
                }
            }
            minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
        });
        bound_builtin_filters(&mut env);
        env.add_function("raise_exception", raise_exception);
        env.add_function(
            "namespace",
            |defaults: Option<Value>| -> Result<Value, Error> {
                let ns = minijinja::functions::namespace(defaults)?;
                NAMESPACES.with(|r| {
                    if let Some(list) = r.borrow_mut().as_mut() {
                        list.push(ns.clone());
                    }
                });
                Ok(ns)
            },
        );
        env.add_function("strftime_now", |fmt: String| -> Result<String, Error> {
            Ok(strftime(&fmt, unix_now()))
        });
        env.add_template_owned(NAME, String::from(source))
            .map_err(|e| ChatError::TemplateSyntax(describe(&e)))?;
        Ok(JinjaTemplate {
            env,
            cyclic: core::sync::atomic::AtomicBool::new(false),
        })
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
        use core::sync::atomic::Ordering;
        if self.cyclic.load(Ordering::Relaxed) {
            return Err(cycle_error());
        }
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
        // Record the namespaces this render creates (a render on another thread has its own
        // list), then look for a cycle among them.
        let outer = NAMESPACES.with(|r| r.borrow_mut().replace(Vec::new()));
        let r = tmpl.render_captured_to(Value::from_iter(ctx), &mut out);
        let created = NAMESPACES.with(|r| core::mem::replace(&mut *r.borrow_mut(), outer));
        let mut budget = MAX_VALUES_VISITED;
        if created
            .unwrap_or_default()
            .iter()
            .any(|ns| too_deep(ns, 0, &mut budget))
        {
            self.cyclic.store(true, Ordering::Relaxed);
            return Err(cycle_error());
        }
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

/// The error of a template that left a namespace in a reference cycle.
fn cycle_error() -> ChatError {
    ChatError::TemplateRender(format!(
        "the template stores a namespace inside itself (values nested more than \
         {MAX_VALUE_DEPTH} deep): a reference cycle that cannot be freed, so the template is \
         refused (use the built-in renderer)"
    ))
}

/// Whether `v` holds values nested more than [`MAX_VALUE_DEPTH`] below `depth` (what a
/// reference cycle does). Visits at most `budget` values in all, then answers no.
fn too_deep(v: &Value, depth: usize, budget: &mut usize) -> bool {
    if depth > MAX_VALUE_DEPTH {
        return true;
    }
    if !matches!(v.kind(), ValueKind::Map | ValueKind::Seq) {
        return false;
    }
    let is_map = v.kind() == ValueKind::Map;
    let Ok(items) = v.try_iter() else {
        return false;
    };
    for item in items {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let child = if is_map {
            match v.get_item(&item) {
                Ok(c) => c,
                Err(_) => continue,
            }
        } else {
            item
        };
        if too_deep(&child, depth + 1, budget) {
            return true;
        }
    }
    false
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

/// Replaces the builtin filters that size a string by a number (`indent`, `tojson`,
/// `format`) with checked versions that call the builtin when the numbers are sane.
fn bound_builtin_filters(env: &mut Environment<'static>) {
    let indent = Value::from_function(minijinja::filters::indent);
    env.add_filter("indent", move |state: &State, args: Rest<Value>| {
        let text = args.first().map(|v| v.to_string()).unwrap_or_default();
        let width = args
            .get(1)
            .filter(|v| !v.is_kwargs())
            .cloned()
            .or_else(|| kwarg(&args, "width"))
            .map_or(Ok(4), |w| number_arg(&w, "indent width"))?;
        let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
        let size = lines.saturating_mul(width).saturating_add(text.len());
        if size > MAX_OUTPUT_BYTES {
            return Err(too_big(format!(
                "indent: {lines} lines indented by {width} would exceed {MAX_OUTPUT_BYTES} bytes"
            )));
        }
        indent.call(state, &args)
    });
    let tojson = Value::from_function(minijinja::filters::tojson);
    env.add_filter("tojson", move |state: &State, args: Rest<Value>| {
        let width = args
            .get(1)
            .filter(|v| !v.is_kwargs())
            .cloned()
            .or_else(|| kwarg(&args, "indent"));
        if let Some(w) = width.filter(|w| !matches!(w.kind(), ValueKind::Bool | ValueKind::None)) {
            number_arg(&w, "tojson indent")?;
        }
        tojson.call(state, &args)
    });
    let format = Value::from_function(minijinja::filters::format);
    env.add_filter("format", move |state: &State, args: Rest<Value>| {
        if let Some(f) = args.first().and_then(|v| v.as_str()) {
            check_format_widths(f, &args[1..])?;
        }
        format.call(state, &args)
    });
}

/// Keyword argument `name` of a filter call (the trailing kwargs value), if given.
fn kwarg(args: &[Value], name: &str) -> Option<Value> {
    let kw = args.last().filter(|v| v.is_kwargs())?;
    kw.get_attr(name).ok().filter(|v| !v.is_undefined())
}

/// A width-like number argument: an integer in `0..=MAX_WIDTH`.
fn number_arg(v: &Value, what: &str) -> Result<usize, Error> {
    match v.as_i64() {
        Some(n) if (0..=MAX_WIDTH as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(too_big(format!("{what} {n} is not in 0..={MAX_WIDTH}"))),
        // Not a number: the builtin reports the type error.
        None => Ok(0),
    }
}

fn too_big(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// Refuses a printf-style (`%10.3f`, `%*d`) or `str.format` (`{:>10}`, `{0:{1}}`) format
/// string whose widths or precisions exceed [`MAX_WIDTH`], or that takes a width from an
/// argument (`*`, nested `{}`) larger than that.
fn check_format_widths(f: &str, args: &[Value]) -> Result<(), Error> {
    let b = f.as_bytes();
    let mut i = 0;
    let mut takes_width_arg = false;
    while i < b.len() {
        match b[i] {
            b'%' => {
                i += 1;
                // Mapping key, flags, then width '.' precision.
                if b.get(i) == Some(&b'(') {
                    while i < b.len() && b[i] != b')' {
                        i += 1;
                    }
                    i += 1;
                }
                while i < b.len() && b"-+ #0".contains(&b[i]) {
                    i += 1;
                }
                i = check_digits(b, i)?;
                if b.get(i) == Some(&b'*') {
                    takes_width_arg = true;
                }
                if b.get(i) == Some(&b'.') {
                    i = check_digits(b, i + 1)?;
                    if b.get(i) == Some(&b'*') {
                        takes_width_arg = true;
                    }
                }
            }
            b'{' => {
                // A replacement field: every digit run after its ':' is a width/precision.
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'}')
                    .map_or(b.len(), |p| i + p);
                if let Some(colon) = b[i..end].iter().position(|&c| c == b':') {
                    let mut j = i + colon + 1;
                    while j < end {
                        if b[j].is_ascii_digit() {
                            j = check_digits(b, j)?;
                        } else {
                            j += 1;
                        }
                    }
                    if b[i + colon + 1..end].contains(&b'{') {
                        takes_width_arg = true;
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if takes_width_arg {
        for a in args.iter().filter(|a| !a.is_kwargs()) {
            if a.kind() == ValueKind::Number {
                if let Some(n) = a.as_i64().filter(|n| n.unsigned_abs() > MAX_WIDTH as u64) {
                    return Err(too_big(format!(
                        "a format width or precision of {n} is not in 0..={MAX_WIDTH}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Skips the decimal digits at `b[i..]`, refusing a number above [`MAX_WIDTH`]; returns the
/// index after them.
fn check_digits(b: &[u8], mut i: usize) -> Result<usize, Error> {
    let mut n: u64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add(u64::from(b[i] - b'0'));
        i += 1;
    }
    if n > MAX_WIDTH as u64 {
        return Err(too_big(format!(
            "a format width or precision of {n} is not in 0..={MAX_WIDTH}"
        )));
    }
    Ok(i)
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
