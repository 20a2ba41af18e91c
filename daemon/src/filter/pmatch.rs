//! The `pmatch` set: a tree of path components answering "is one of the search paths a
//! prefix of this path, component-wise?" (`/var/run` matches `/var/run/docker.sock`, not
//! `/var/runner`). Components containing `*`, `?` or `[` are glob patterns, as in libsinsp.

use rustc_hash::FxHashMap;

use super::glob::fnmatch;

#[derive(Clone, Debug, Default)]
pub struct PrefixSet {
    /// The entry for the root directory; `None` while the set is empty.
    root: Option<Entry>,
}

#[derive(Clone, Debug, Default)]
struct Node {
    dirs: FxHashMap<Box<[u8]>, Entry>,
    globs: Vec<(Box<[u8]>, Entry)>,
}

/// A component of some search path: either the end of a search path (`below` is `None`) or an
/// inner directory with the search paths continuing below it.
#[derive(Clone, Debug)]
struct Entry {
    below: Option<Box<Node>>,
}

fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    path.split(|b| *b == b'/').filter(|c| !c.is_empty())
}

fn is_glob(component: &[u8]) -> bool {
    component.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

impl PrefixSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, path: &[u8]) {
        let mut comps = components(path).peekable();
        match &mut self.root {
            None => self.root = Some(Entry::new(comps)),
            Some(root) => root.add(comps.peek().is_none(), comps),
        }
    }

    pub fn matches(&self, path: &[u8]) -> bool {
        match &self.root {
            None => false,
            Some(root) => root.check(components(path)),
        }
    }
}

impl Entry {
    /// An entry whose search path continues with `rest`.
    fn new<'a>(mut rest: std::iter::Peekable<impl Iterator<Item = &'a [u8]>>) -> Entry {
        if rest.peek().is_none() {
            return Entry { below: None };
        }
        let mut node = Node::default();
        node.add(rest);
        Entry {
            below: Some(Box::new(node)),
        }
    }

    /// Adds a search path continuing with `rest` below this entry (`ends_here`: nothing left).
    fn add<'a>(
        &mut self,
        ends_here: bool,
        rest: std::iter::Peekable<impl Iterator<Item = &'a [u8]>>,
    ) {
        if ends_here {
            // A shorter search path subsumes the longer ones below it.
            self.below = None;
            return;
        }
        if let Some(node) = &mut self.below {
            node.add(rest);
        }
        // Else this entry already ends a search path, a prefix of the new one.
    }

    fn check<'a>(&self, mut rest: impl Iterator<Item = &'a [u8]> + Clone) -> bool {
        match &self.below {
            None => true,
            Some(node) => match rest.next() {
                // The path ends above the search path: `/var` is not under `/var/run`.
                None => false,
                Some(c) => node.check(c, rest),
            },
        }
    }
}

impl Node {
    fn add<'a>(&mut self, mut comps: std::iter::Peekable<impl Iterator<Item = &'a [u8]>>) {
        let Some(first) = comps.next() else {
            return;
        };
        let ends_here = comps.peek().is_none();
        let existing = if is_glob(first) {
            self.globs
                .iter_mut()
                .find(|(p, _)| **p == *first)
                .map(|(_, e)| e)
        } else {
            self.dirs.get_mut(first)
        };
        match existing {
            Some(e) => e.add(ends_here, comps),
            None => {
                let e = Entry::new(comps);
                if is_glob(first) {
                    self.globs.push((first.into(), e));
                } else {
                    self.dirs.insert(first.into(), e);
                }
            }
        }
    }

    fn check<'a>(&self, c: &[u8], rest: impl Iterator<Item = &'a [u8]> + Clone) -> bool {
        if let Some(e) = self.dirs.get(c) {
            if e.check(rest.clone()) {
                return true;
            }
        }
        self.globs
            .iter()
            .any(|(p, e)| fnmatch(p, c) && e.check(rest.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&str]) -> PrefixSet {
        let mut s = PrefixSet::new();
        for p in paths {
            s.insert(p.as_bytes());
        }
        s
    }

    #[test]
    fn prefix_semantics() {
        let s = set(&["/var/run", "/etc", "/lib", "/usr/lib"]);
        assert!(s.matches(b"/var/run/docker"));
        assert!(s.matches(b"/var/run"));
        assert!(s.matches(b"/etc/passwd"));
        assert!(!s.matches(b"/boot"));
        assert!(!s.matches(b"/var/lib/messages"));
        assert!(!s.matches(b"/var"));
        assert!(!s.matches(b"/var/runner"));
        assert!(s.matches(b"/usr/lib/x/y"));
        assert!(!s.matches(b"/usr"));
    }

    #[test]
    fn shorter_path_subsumes_longer_in_either_order() {
        let a = set(&["/usr/lib", "/usr"]);
        let b = set(&["/usr", "/usr/lib"]);
        for s in [a, b] {
            assert!(s.matches(b"/usr"));
            assert!(s.matches(b"/usr/bin/x"));
        }
    }

    #[test]
    fn glob_components_and_root() {
        let s = set(&["/home/*/.ssh", "/proc/[0-9]*/environ"]);
        assert!(s.matches(b"/home/bob/.ssh/id_rsa"));
        assert!(!s.matches(b"/home/bob/.config"));
        assert!(s.matches(b"/proc/12/environ"));
        assert!(!s.matches(b"/proc/self/environ"));
        let root = set(&["/"]);
        assert!(root.matches(b"/anything/at/all"));
        assert!(!PrefixSet::new().matches(b"/x"));
    }

    #[test]
    fn repeated_slashes_are_ignored() {
        let s = set(&["//var///run/"]);
        assert!(s.matches(b"/var/run/x"));
    }
}
