//! The structure of `src/`, drawn from its imports, has no arrow running back up and no circle
//! (and the generator's, in `crates/generate/src`, has no circle).
//!
//! Every `.rs` file under `src/` is a node; every path a file names (`use` trees, and paths in
//! code such as `super::ops::HEALTH` or `crate::search::run(..)`) that resolves to another file
//! of the crate is an arrow. Three rules:
//!
//! 1. **Layers.** The crate's top modules are in [`LAYERS`], lowest first, in the order of the
//!    data path (extraction files -> typed rows -> resources -> generations -> search -> HTTP).
//!    An arrow between two top modules must point to a lower layer.
//! 2. **No circle** among the files of the crate (a group of files that reach each other
//!    through their imports).
//! 3. **A child never imports its parent.** A `mod.rs` declares its children and may use them
//!    (a facade); what the children share lives in a sibling file, not in the parent, or the
//!    parent and its children would form a circle. Test modules (`tests`, `#[cfg(test)]`) are
//!    not part of the structure: they may read what they test.
//!
//! The crate is read with `syn`, as written: nothing is compiled or expanded, so paths inside
//! macro calls are not seen (none of ours name modules).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The top modules of the crate, lowest layer first: a module may import only from the layers
/// below its own (and from inside itself). Modules of one line are independent of each other.
const LAYERS: &[&[&str]] = &[
    // Leaves: FHIR basics, time, progress bars, threads.
    &["fhir", "clock", "progress", "parallel"],
    // What is served: the ANS profiles, then the search parameters and the CapabilityStatement.
    &["profiles"],
    &["conformance"],
    // The data path.
    &["extract"],
    &["mapping"],
    &["generation"],
    &["search"],
    // What a hospital writes, beside the generations (lists read by searches through `search::lists`).
    &["local"],
    // The edge: who may see what, and what uses search on its behalf.
    &["auth"],
    &["export", "metrics"],
    // Subscriptions: events from generations and local writes, queues, delivery.
    &["notify"],
    // Writers and wiring.
    &["import"],
    &["settings"],
    &["http"],
    &["demo"],
    &["app"],
    &["cli"],
];

/// A file of the crate, as the module path it defines (`["search", "engine"]`).
type Module = Vec<String>;

/// The server's sources.
fn server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The demo data generator's sources (a crate of its own, checked for circles only).
fn generator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/generate/src")
}

/// Every `.rs` file under `root` with the module it defines (`main.rs` is the binary, apart).
fn modules(root: &Path) -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src/") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    files
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|n| n != "main.rs"))
        .map(|path| {
            let relative = path.strip_prefix(root).expect("under the root");
            let mut module: Module = relative
                .iter()
                .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            (module, path)
        })
        .collect()
}

/// Collects the module paths one file names.
struct Imports<'m> {
    known: &'m BTreeMap<Module, PathBuf>,
    /// The file's module.
    file: Module,
    /// Inline modules (`mod tests { .. }`) entered inside the file.
    inline: Vec<String>,
    /// Files named, with the first place each was named (for the failure message).
    targets: BTreeMap<Module, String>,
}

impl Imports<'_> {
    /// The module the code being visited is in (the file's, plus inline modules).
    fn here(&self) -> Module {
        self.file.iter().chain(&self.inline).cloned().collect()
    }

    /// Records the file a path names, if it names one of the crate.
    fn resolve(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let here = self.here();
        let (mut base, rest): (Module, &[String]) = match first.as_str() {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (here, &segments[1..]),
            "super" => {
                let supers = segments.iter().take_while(|s| *s == "super").count();
                let mut base = here;
                base.truncate(base.len().saturating_sub(supers));
                (base, &segments[supers..])
            }
            _ => {
                // A child module named without `self::` (or, at the crate root, a top module).
                let mut child = here.clone();
                child.push(first.clone());
                if !self.known.contains_key(&child) {
                    return;
                }
                (here, segments)
            }
        };
        base.extend(rest.iter().cloned());
        // The longest prefix that is a file of the crate (the rest names items in it, or
        // inline modules of it).
        let target = (0..=base.len())
            .rev()
            .map(|n| base[..n].to_vec())
            .find(|prefix| self.known.contains_key(prefix));
        if let Some(target) = target
            && target != self.file
        {
            self.targets
                .entry(target)
                .or_insert_with(|| segments.join("::"));
        }
    }
}

/// The full paths of a `use` tree (`a::{b, c::d}` -> `a::b`, `a::c::d`).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_paths(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            let mut full = prefix.clone();
            if name.ident != "self" {
                full.push(name.ident.to_string());
            }
            out.push(full);
        }
        syn::UseTree::Rename(rename) => {
            let mut full = prefix.clone();
            if rename.ident != "self" {
                full.push(rename.ident.to_string());
            }
            out.push(full);
        }
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                use_paths(item, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Imports<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // Unit tests inside a file (`#[cfg(test)] mod tests { .. }`) are not the structure.
        let is_test = item.attrs.iter().any(|attr| {
            attr.path().is_ident("cfg")
                && attr
                    .parse_args::<syn::Ident>()
                    .is_ok_and(|word| word == "test")
        });
        if item.content.is_some() && !is_test {
            self.inline.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.inline.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        use_paths(&item.tree, &mut Vec::new(), &mut paths);
        for path in paths {
            self.resolve(&path);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.resolve(&segments);
        }
        syn::visit::visit_path(self, path);
    }
}

/// Arrows between the files of a crate: from each file, the files it names and where.
fn arrows(root: &Path) -> BTreeMap<Module, BTreeMap<Module, String>> {
    let known = modules(root);
    known
        .iter()
        .map(|(module, path)| {
            let text = std::fs::read_to_string(path).expect("read a source file");
            let file = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            let mut imports = Imports {
                known: &known,
                file: module.clone(),
                inline: Vec::new(),
                targets: BTreeMap::new(),
            };
            imports.visit_file(&file);
            (module.clone(), imports.targets)
        })
        .collect()
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

fn layer_of(module: &Module) -> Option<usize> {
    let top = module.first()?;
    LAYERS
        .iter()
        .position(|layer| layer.contains(&top.as_str()))
}

#[test]
fn every_top_module_has_a_layer() {
    let tops: BTreeSet<String> = modules(&server())
        .keys()
        .filter_map(|m| m.first().cloned())
        .collect();
    let missing: Vec<&String> = tops
        .iter()
        .filter(|top| !LAYERS.iter().any(|l| l.contains(&top.as_str())))
        .collect();
    assert!(
        missing.is_empty(),
        "top modules without a layer in LAYERS: {missing:?}"
    );
    let stale: Vec<&&str> = LAYERS
        .iter()
        .flat_map(|l| l.iter())
        .filter(|m| !tops.contains(**m))
        .collect();
    assert!(
        stale.is_empty(),
        "LAYERS names modules that do not exist: {stale:?}"
    );
}

#[test]
fn no_arrow_runs_back_up() {
    let mut wrong = Vec::new();
    for (from, targets) in arrows(&server()) {
        for (to, path) in targets {
            if from.first() == to.first() {
                continue;
            }
            match (layer_of(&from), layer_of(&to)) {
                (Some(a), Some(b)) if b < a => {}
                _ => wrong.push(format!("{} -> {} (`{path}`)", name(&from), name(&to))),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} arrows run up or across the layers (see LAYERS):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn no_child_imports_its_parent() {
    let mut wrong = Vec::new();
    for (from, targets) in [server(), generator()].iter().flat_map(|root| arrows(root)) {
        for (to, path) in targets {
            let is_test = from.iter().any(|part| part == "tests");
            if !is_test && to.len() < from.len() && from.starts_with(&to) {
                wrong.push(format!("{} -> {} (`{path}`)", name(&from), name(&to)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} files import a module they are part of (move what they share into a sibling):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn no_circle() {
    let circles: Vec<String> = [server(), generator()]
        .iter()
        .flat_map(|root| circles_in(&arrows(root)))
        .collect();
    assert!(
        circles.is_empty(),
        "{} circles among the files of src/ and crates/generate/src:\n{}",
        circles.len(),
        circles.join("\n\n")
    );
}

/// Each group of files that reach each other through their imports, with the arrows inside it.
fn circles_in(graph: &BTreeMap<Module, BTreeMap<Module, String>>) -> Vec<String> {
    strongly_connected(graph)
        .into_iter()
        .filter(|group| group.len() > 1)
        .map(|group| {
            let members: BTreeSet<&Module> = group.iter().collect();
            let inside: Vec<String> = group
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|(to, _)| members.contains(to))
                        .map(move |(to, path)| {
                            format!("  {} -> {} (`{path}`)", name(from), name(to))
                        })
                })
                .collect();
            inside.join("\n")
        })
        .collect()
}

/// Tarjan's algorithm: the groups of files that reach each other.
fn strongly_connected(graph: &BTreeMap<Module, BTreeMap<Module, String>>) -> Vec<Vec<Module>> {
    struct State<'g> {
        graph: &'g BTreeMap<Module, BTreeMap<Module, String>>,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        on_stack: BTreeSet<&'g Module>,
        groups: Vec<Vec<Module>>,
    }
    fn visit<'g>(state: &mut State<'g>, node: &'g Module) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        for next in state.graph[node].keys() {
            let Some((next, _)) = state.graph.get_key_value(next) else {
                continue;
            };
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[next].min(state.low[node]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.index[next].min(state.low[node]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut group = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                group.push(member.clone());
                if member == node {
                    break;
                }
            }
            state.groups.push(group);
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.groups
}

/// The reader itself: it sees `use` trees, inline paths, `super` and children named bare.
#[test]
fn the_reader_finds_every_kind_of_path() {
    let known: BTreeMap<Module, PathBuf> = [
        vec![],
        vec!["a".to_owned()],
        vec!["a".to_owned(), "b".to_owned()],
        vec!["a".to_owned(), "c".to_owned()],
        vec!["d".to_owned()],
    ]
    .into_iter()
    .map(|m| (m, PathBuf::new()))
    .collect();
    let source = r#"
        use super::c::Thing;
        use crate::{d::Other, a::b as me};
        fn f() { let _ = super::super::d::run(); }
        mod tests { use super::super::c; }
    "#;
    let mut imports = Imports {
        known: &known,
        file: vec!["a".to_owned(), "b".to_owned()],
        inline: Vec::new(),
        targets: BTreeMap::new(),
    };
    imports.visit_file(&syn::parse_file(source).unwrap());
    let found: Vec<String> = imports.targets.keys().map(name).collect();
    assert_eq!(found, ["a::c", "d"]);
}
