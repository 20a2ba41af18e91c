//! fnmatch(3) as glibc does it in the C locale, for the `glob` (flags 0) and `iglob`
//! (`FNM_CASEFOLD`) operators: `*`, `?`, bracket expressions with `!`/`^`, ranges, character
//! classes, `[=c=]` and `[.c.]`, backslash escapes. Strings are C strings to fnmatch, so both
//! sides end at their first NUL byte.
//!
//! No crate reproduces glibc's corner cases (unterminated brackets, invalid class names,
//! trailing backslashes), so this follows glibc's algorithm; tests compare it with libc's
//! `fnmatch` on random patterns.

/// `fnmatch(pattern, text, 0) == 0`.
pub fn fnmatch(pattern: &[u8], text: &[u8]) -> bool {
    fnmatch_with(pattern, text, false)
}

/// `fnmatch(pattern, text, FNM_CASEFOLD) == 0`.
pub fn fnmatch_casefold(pattern: &[u8], text: &[u8]) -> bool {
    fnmatch_with(pattern, text, true)
}

fn fnmatch_with(pattern: &[u8], text: &[u8], fold: bool) -> bool {
    let pattern = until_nul(pattern);
    let text = until_nul(text);
    let m = Matcher { p: pattern, fold };
    // A pattern can hold many `*`; bound the work so a hostile pattern cannot hang the engine.
    let mut budget = Budget(1 << 22);
    m.run(0, text, 0, None, &mut budget) == Outcome::Match
}

fn until_nul(s: &[u8]) -> &[u8] {
    match memchr::memchr(0, s) {
        Some(i) => &s[..i],
        None => s,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Match,
    NoMatch,
}

struct Budget(u32);

/// Where an inner match stopped at the next `*` (glibc's `struct STRUCT ends`).
#[derive(Clone, Copy)]
struct Ends {
    pattern: usize,
    string: usize,
}

struct Matcher<'a> {
    p: &'a [u8],
    fold: bool,
}

const CLASS_NAME_MAX: usize = 256;

impl Matcher<'_> {
    fn fold(&self, c: u8) -> u8 {
        if self.fold {
            c.to_ascii_lowercase()
        } else {
            c
        }
    }

    /// Pattern byte at `i`, 0 past the end (the C string terminator).
    fn at(&self, i: usize) -> u8 {
        self.p.get(i).copied().unwrap_or(0)
    }

    /// Matches `self.p[pi..]` against `s[ni..]`. With `ends`, stops successfully at the next
    /// `*`, recording where.
    fn run(
        &self,
        mut pi: usize,
        s: &[u8],
        mut ni: usize,
        mut ends: Option<&mut Option<Ends>>,
        budget: &mut Budget,
    ) -> Outcome {
        if budget.0 == 0 {
            return Outcome::NoMatch;
        }
        budget.0 -= 1;
        loop {
            let raw = self.at(pi);
            if raw == 0 {
                break;
            }
            pi += 1;
            let c = self.fold(raw);
            match c {
                b'?' => {
                    if ni == s.len() {
                        return Outcome::NoMatch;
                    }
                }
                b'\\' => {
                    let e = self.at(pi);
                    pi += 1;
                    if e == 0 {
                        return Outcome::NoMatch;
                    }
                    let e = self.fold(e);
                    if ni == s.len() || self.fold(s[ni]) != e {
                        return Outcome::NoMatch;
                    }
                }
                b'*' => {
                    if let Some(ends) = ends.as_deref_mut() {
                        *ends = Some(Ends {
                            pattern: pi - 1,
                            string: ni,
                        });
                        return Outcome::Match;
                    }
                    let mut c = self.at(pi);
                    pi += 1;
                    while c == b'?' || c == b'*' {
                        if c == b'?' {
                            if ni == s.len() {
                                return Outcome::NoMatch;
                            }
                            ni += 1;
                        }
                        c = self.at(pi);
                        pi += 1;
                    }
                    if c == 0 {
                        return Outcome::Match;
                    }
                    let mut end: Option<Ends> = None;
                    let endp = s.len();
                    let mut found = false;
                    if c == b'[' {
                        pi -= 1;
                        while ni < endp {
                            if self.run(pi, s, ni, Some(&mut end), budget) == Outcome::Match {
                                found = true;
                                break;
                            }
                            ni += 1;
                        }
                    } else {
                        let mut want = c;
                        if c == b'\\' {
                            want = self.at(pi);
                        }
                        let want = self.fold(want);
                        pi -= 1;
                        while ni < endp {
                            if self.fold(s[ni]) == want
                                && self.run(pi, s, ni, Some(&mut end), budget) == Outcome::Match
                            {
                                found = true;
                                break;
                            }
                            ni += 1;
                        }
                    }
                    if found {
                        match end {
                            None => return Outcome::Match,
                            Some(e) => {
                                pi = e.pattern;
                                ni = e.string;
                                continue;
                            }
                        }
                    }
                    return Outcome::NoMatch;
                }
                b'[' => match self.bracket(pi, s, ni) {
                    Bracket::Matched(next) => pi = next,
                    Bracket::Literal => {
                        // Unterminated `[`: an ordinary character.
                        if ni == s.len() || self.fold(s[ni]) != b'[' {
                            return Outcome::NoMatch;
                        }
                    }
                    Bracket::Fail => return Outcome::NoMatch,
                },
                _ => {
                    if ni == s.len() || c != self.fold(s[ni]) {
                        return Outcome::NoMatch;
                    }
                }
            }
            ni += 1;
        }
        if ni == s.len() {
            Outcome::Match
        } else {
            Outcome::NoMatch
        }
    }

    /// A bracket expression starting after `[` at `pi`, tested against `s[ni]`.
    fn bracket(&self, mut pi: usize, s: &[u8], ni: usize) -> Bracket {
        if ni == s.len() {
            return Bracket::Fail;
        }
        let n = s[ni];
        let negate = matches!(self.at(pi), b'!' | b'^');
        if negate {
            pi += 1;
        }
        let fn_ = self.fold(n);
        let mut c = self.at(pi);
        pi += 1;
        let matched = loop {
            // The range start (glibc's `cold`), set by every single-character element.
            let cold: u8;
            if c == b'\\' {
                if self.at(pi) == 0 {
                    return Bracket::Fail;
                }
                c = self.fold(self.at(pi));
                pi += 1;
                match self.normal_bracket(c, fn_, &mut pi) {
                    Step::Matched => break true,
                    Step::Cold(x, next) => {
                        cold = x;
                        c = next;
                    }
                }
            } else if c == b'[' && self.at(pi) == b':' {
                let startp = pi;
                let mut name_len = 0usize;
                let mut name = [0u8; CLASS_NAME_MAX];
                let mut literal = false;
                loop {
                    if name_len == CLASS_NAME_MAX {
                        return Bracket::Fail;
                    }
                    pi += 1;
                    let ch = self.at(pi);
                    if ch == b':' && self.at(pi + 1) == b']' {
                        pi += 2;
                        break;
                    }
                    // glibc stops class names before 'z' (its bound is exclusive).
                    if !(b'a'..=b'y').contains(&ch) {
                        // Not a class name: the `[` is an ordinary element.
                        pi = startp;
                        literal = true;
                        break;
                    }
                    name[name_len] = ch;
                    name_len += 1;
                }
                if literal {
                    match self.normal_bracket(b'[', fn_, &mut pi) {
                        Step::Matched => break true,
                        Step::Cold(x, next) => {
                            cold = x;
                            c = next;
                        }
                    }
                } else {
                    let Some(class) = CharClass::from_name(&name[..name_len]) else {
                        return Bracket::Fail;
                    };
                    if class.contains(n) {
                        break true;
                    }
                    c = self.at(pi);
                    pi += 1;
                    if c == b']' {
                        break false;
                    }
                    if c == 0 {
                        return Bracket::Literal;
                    }
                    continue;
                }
            } else if c == b'[' && self.at(pi) == b'=' {
                let startp = pi;
                pi += 1;
                let ch = self.at(pi);
                let ok = ch != 0 && self.at(pi + 1) == b'=' && self.at(pi + 2) == b']';
                if !ok {
                    pi = startp;
                    match self.normal_bracket(b'[', fn_, &mut pi) {
                        Step::Matched => break true,
                        Step::Cold(x, next) => {
                            cold = x;
                            c = next;
                        }
                    }
                } else {
                    pi += 3;
                    if n == ch {
                        break true;
                    }
                    c = self.at(pi);
                    pi += 1;
                    if c == b']' {
                        break false;
                    }
                    if c == 0 {
                        return Bracket::Literal;
                    }
                    continue;
                }
            } else if c == 0 {
                return Bracket::Literal;
            } else if c == b'[' && self.at(pi) == b'.' {
                let startp = pi;
                let mut len = 0usize;
                loop {
                    pi += 1;
                    let ch = self.at(pi);
                    if ch == b'.' && self.at(pi + 1) == b']' {
                        pi += 2;
                        break;
                    }
                    if ch == 0 {
                        return Bracket::Fail;
                    }
                    len += 1;
                }
                let is_range = self.at(pi) == b'-' && self.at(pi + 1) != 0;
                // The C locale has no collating element names but single characters.
                if len != 1 {
                    return Bracket::Fail;
                }
                let sym = self.at(startp + 1);
                if !is_range && n == sym {
                    break true;
                }
                cold = sym;
                c = self.at(pi);
                pi += 1;
            } else {
                c = self.fold(c);
                match self.normal_bracket(c, fn_, &mut pi) {
                    Step::Matched => break true,
                    Step::Cold(x, next) => {
                        cold = x;
                        c = next;
                    }
                }
            }

            if c == b'-' && self.at(pi) != b']' {
                let mut cend = self.at(pi);
                pi += 1;
                if cend == b'[' && self.at(pi) == b'.' {
                    let startp = pi;
                    let mut len = 0usize;
                    loop {
                        pi += 1;
                        let ch = self.at(pi);
                        if ch == b'.' && self.at(pi + 1) == b']' {
                            pi += 2;
                            break;
                        }
                        if ch == 0 {
                            return Bracket::Fail;
                        }
                        len += 1;
                    }
                    if len != 1 {
                        return Bracket::Fail;
                    }
                    cend = self.at(startp + 1);
                } else {
                    if cend == b'\\' {
                        cend = self.at(pi);
                        pi += 1;
                    }
                    if cend == 0 {
                        return Bracket::Fail;
                    }
                    cend = self.fold(cend);
                }
                // C locale collation: byte order.
                if cold <= fn_ && fn_ <= cend {
                    break true;
                }
                c = self.at(pi);
                pi += 1;
            }
            if c == b']' {
                break false;
            }
        };
        if !matched {
            return if negate {
                Bracket::Matched(pi)
            } else {
                Bracket::Fail
            };
        }
        // Skip the rest of the bracket expression.
        'skip: loop {
            let c = self.at(pi);
            pi += 1;
            if c == b']' {
                break;
            }
            if c == 0 {
                return Bracket::Fail;
            }
            if c == b'\\' {
                if self.at(pi) == 0 {
                    return Bracket::Fail;
                }
                pi += 1;
            } else if c == b'[' && self.at(pi) == b':' {
                let startp = pi;
                let mut count = 0usize;
                loop {
                    pi += 1;
                    let ch = self.at(pi);
                    count += 1;
                    if count == CLASS_NAME_MAX {
                        return Bracket::Fail;
                    }
                    if self.at(pi) == b':' && self.at(pi + 1) == b']' {
                        break;
                    }
                    if !(b'a'..=b'y').contains(&ch) {
                        pi = startp;
                        continue 'skip;
                    }
                }
                pi += 2;
            } else if c == b'[' && self.at(pi) == b'=' {
                pi += 1;
                if self.at(pi) == 0 {
                    return Bracket::Fail;
                }
                pi += 1;
                if self.at(pi) != b'=' || self.at(pi + 1) != b']' {
                    return Bracket::Fail;
                }
                pi += 2;
            } else if c == b'[' && self.at(pi) == b'.' {
                loop {
                    pi += 1;
                    let ch = self.at(pi);
                    if ch == 0 {
                        return Bracket::Fail;
                    }
                    if ch == b'.' && self.at(pi + 1) == b']' {
                        break;
                    }
                }
                pi += 2;
            }
        }
        if negate {
            Bracket::Fail
        } else {
            Bracket::Matched(pi)
        }
    }

    /// A plain element `c` of a bracket: matches directly unless it starts a range; returns
    /// it as the range start with the next pattern byte.
    fn normal_bracket(&self, c: u8, fn_: u8, pi: &mut usize) -> Step {
        let is_range = self.at(*pi) == b'-' && self.at(*pi + 1) != 0 && self.at(*pi + 1) != b']';
        if !is_range && c == fn_ {
            return Step::Matched;
        }
        let next = self.at(*pi);
        *pi += 1;
        Step::Cold(c, next)
    }
}

enum Step {
    Matched,
    Cold(u8, u8),
}

enum Bracket {
    /// Matched; the pattern continues at this index.
    Matched(usize),
    /// The `[` has no closing `]`: match it as a plain character.
    Literal,
    Fail,
}

#[derive(Clone, Copy)]
enum CharClass {
    Alnum,
    Alpha,
    Blank,
    Cntrl,
    Digit,
    Graph,
    Lower,
    Print,
    Punct,
    Space,
    Upper,
    Xdigit,
}

impl CharClass {
    fn from_name(name: &[u8]) -> Option<CharClass> {
        Some(match name {
            b"alnum" => CharClass::Alnum,
            b"alpha" => CharClass::Alpha,
            b"blank" => CharClass::Blank,
            b"cntrl" => CharClass::Cntrl,
            b"digit" => CharClass::Digit,
            b"graph" => CharClass::Graph,
            b"lower" => CharClass::Lower,
            b"print" => CharClass::Print,
            b"punct" => CharClass::Punct,
            b"space" => CharClass::Space,
            b"upper" => CharClass::Upper,
            b"xdigit" => CharClass::Xdigit,
            _ => return None,
        })
    }

    /// C-locale ctype: ASCII only.
    fn contains(self, c: u8) -> bool {
        match self {
            CharClass::Alnum => c.is_ascii_alphanumeric(),
            CharClass::Alpha => c.is_ascii_alphabetic(),
            CharClass::Blank => c == b' ' || c == b'\t',
            CharClass::Cntrl => c.is_ascii_control(),
            CharClass::Digit => c.is_ascii_digit(),
            CharClass::Graph => c.is_ascii_graphic(),
            CharClass::Lower => c.is_ascii_lowercase(),
            CharClass::Print => c.is_ascii_graphic() || c == b' ',
            CharClass::Punct => c.is_ascii_punctuation(),
            CharClass::Space => matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
            CharClass::Upper => c.is_ascii_uppercase(),
            CharClass::Xdigit => c.is_ascii_hexdigit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn libc_fnmatch(pattern: &[u8], text: &[u8], flags: i32) -> bool {
        let p = std::ffi::CString::new(pattern).expect("no NUL");
        let t = std::ffi::CString::new(text).expect("no NUL");
        // SAFETY: both are valid NUL-terminated strings; fnmatch only reads them.
        unsafe { libc::fnmatch(p.as_ptr(), t.as_ptr(), flags) == 0 }
    }

    #[test]
    fn basics() {
        assert!(fnmatch(b"/home/*/.ssh/*", b"/home/bob/.ssh/id_rsa"));
        assert!(!fnmatch(b"/home/*/.ssh/*", b"/root/.ssh/id_rsa"));
        assert!(fnmatch(b"*../*../*", b"/a/../b/../c"));
        assert!(fnmatch(b"/proc/*/environ", b"/proc/1/environ"));
        assert!(fnmatch(b"a?c", b"abc"));
        assert!(fnmatch(b"[a-c]x", b"bx"));
        assert!(!fnmatch(b"[!a-c]x", b"bx"));
        assert!(fnmatch(b"[[:digit:]]", b"7"));
        assert!(fnmatch(b"\\*", b"*"));
        assert!(!fnmatch(b"a\\", b"a"));
        assert!(fnmatch(b"[a", b"[a"));
        assert!(!fnmatch(b"ABC", b"abc"));
        assert!(fnmatch_casefold(b"ABC", b"abc"));
        assert!(fnmatch_casefold(b"[A-C]*", b"bzz"));
    }

    #[test]
    fn hostile_pattern_terminates() {
        let pattern = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b".to_vec();
        let text = vec![b'a'; 4000];
        assert!(!fnmatch(&pattern, &text));
    }

    fn pattern_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            4 => prop::sample::select(b"ab*?[]!^-\\:.=/".to_vec()),
            1 => prop::sample::select(b"AcdxzZ09_ ".to_vec()),
            1 => 1u8..=255u8,
        ]
    }

    fn class_fragment() -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(vec![
            b"[[:alpha:]]".to_vec(),
            b"[[:digit:]x]".to_vec(),
            b"[![:upper:]]".to_vec(),
            b"[[:bogus:]]".to_vec(),
            b"[[=a=]]".to_vec(),
            b"[[.a.]-c]".to_vec(),
            b"[[.ab.]]".to_vec(),
            b"[a-[.z.]]".to_vec(),
            b"[]a]".to_vec(),
            b"[!]]".to_vec(),
            b"[\\]]".to_vec(),
            b"[z-a]".to_vec(),
            b"[a-]".to_vec(),
            b"[:x".to_vec(),
            b"[[:".to_vec(),
        ])
    }

    fn pattern() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                6 => pattern_byte().prop_map(|b| vec![b]),
                1 => class_fragment(),
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    fn text() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(b"abAB[]!-\\:.=/*?z7 ".to_vec()),
                1 => 1u8..=255u8,
            ],
            0..10,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]

        #[test]
        fn matches_libc(p in pattern(), t in text()) {
            prop_assert_eq!(fnmatch(&p, &t), libc_fnmatch(&p, &t, 0),
                "pattern {:?} text {:?}", String::from_utf8_lossy(&p), String::from_utf8_lossy(&t));
        }

        #[test]
        fn casefold_matches_libc(p in pattern(), t in text()) {
            prop_assert_eq!(fnmatch_casefold(&p, &t), libc_fnmatch(&p, &t, libc::FNM_CASEFOLD),
                "pattern {:?} text {:?}", String::from_utf8_lossy(&p), String::from_utf8_lossy(&t));
        }

        #[test]
        fn pattern_matching_its_text_shape(t in text()) {
            // A pattern built from the text with every byte escaped matches exactly that text.
            let mut p = Vec::new();
            for b in &t { p.push(b'\\'); p.push(*b); }
            prop_assert!(fnmatch(&p, &t));
            prop_assert_eq!(libc_fnmatch(&p, &t, 0), true);
        }
    }
}
