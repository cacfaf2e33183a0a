//! The source layout of the workshop's tools and of the trace viewer: no module imports one
//! that imports it back, directly or around a circle, and the workshop's rooms (README, "The
//! steps") import one way: the runner and the book use the exercises and the harness, the
//! exercises use the harness, the harness uses only `steps` and `spans`, which use no room.
//!
//! A module's imports are the `crate::` and `super::` paths its code names (comments left out),
//! each taken to the deepest module it reaches: `crate::harness::process::build` is
//! `harness/process/building.rs`'s module, `crate::harness::process::Pair` is
//! `harness/process/mod.rs`'s.

#![allow(clippy::unwrap_used)]

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use workshop::steps::repository;

/// A module, by its path in its crate: `["harness", "process"]`; the crate's root is `[]`.
type Module = Vec<String>;

/// The library modules of the crate whose sources are in `src` (binaries left out: nothing
/// imports them), each with its source.
fn modules(src: &Path) -> BTreeMap<Module, String> {
    fn walk(folder: &Path, src: &Path, found: &mut BTreeMap<Module, String>) {
        for entry in fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(src).unwrap();
            if path.is_dir() {
                if relative != Path::new("bin") {
                    walk(&path, src, found);
                }
                continue;
            }
            if path.extension().is_none_or(|extension| extension != "rs")
                || relative == Path::new("main.rs")
            {
                continue;
            }
            let mut module: Module = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if module
                .last()
                .is_some_and(|last| last == "mod" || last == "lib")
            {
                module.pop();
            }
            found.insert(module, fs::read_to_string(&path).unwrap());
        }
    }
    let mut found = BTreeMap::new();
    walk(src, src, &mut found);
    found
}

/// `source` without its comments (line comments and doc comments: the crates use no others).
fn code_of(source: &str) -> String {
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths of a use tree at the start of `text` (after `crate::` or `super::`), each
/// appended to `prefix`: `a::{b, c::{d, self}}` gives `a::b`, `a::c::d` and `a::c`.
fn use_tree(text: &str, prefix: &[String], paths: &mut Vec<Module>) -> usize {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut path = prefix.to_vec();
    loop {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at < bytes.len() && bytes[at] == b'{' {
            at += 1;
            loop {
                at += use_tree(&text[at..], &path, paths);
                while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b',') {
                    at += 1;
                }
                if at >= bytes.len() || bytes[at] == b'}' {
                    return at + 1;
                }
            }
        }
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        let name = &text[start..at];
        if !name.is_empty() && name != "self" {
            path.push(name.to_owned());
        }
        if text[at..].starts_with("::") {
            at += 2;
        } else {
            paths.push(path);
            return at;
        }
    }
}

/// The modules each module of `modules` imports (itself left out).
fn imports(modules: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut graph = BTreeMap::new();
    for (module, source) in modules {
        let code = code_of(source);
        let mut paths = Vec::new();
        for (at, _) in code.match_indices("crate::") {
            if !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                use_tree(&code[at + "crate::".len()..], &[], &mut paths);
            }
        }
        // An inline module (`mod tests { … }`, at a file's end) is the file's module's child:
        // its `super` is the file's module.
        let inline = code.find("\nmod ").unwrap_or(code.len());
        for (at, _) in code.match_indices("super::") {
            if !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                let parent = if at > inline {
                    &module[..]
                } else {
                    &module[..module.len().saturating_sub(1)]
                };
                use_tree(&code[at + "super::".len()..], parent, &mut paths);
            }
        }
        let imported: BTreeSet<Module> = paths
            .into_iter()
            .filter_map(|mut path| {
                while !modules.contains_key(&path) {
                    path.pop()?;
                }
                Some(path)
            })
            .filter(|target| target != module)
            .collect();
        graph.insert(module.clone(), imported);
    }
    graph
}

/// A circle of imports in `graph`, if there is one: modules, the first again at the end.
fn circle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        module: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        done: &mut BTreeSet<Module>,
        path: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(start) = path.iter().position(|on_path| on_path == module) {
            let mut found = path[start..].to_vec();
            found.push(module.clone());
            return Some(found);
        }
        if !done.insert(module.clone()) {
            return None;
        }
        path.push(module.clone());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, path) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut done, &mut Vec::new()))
}

fn named(module: &Module) -> String {
    if module.is_empty() {
        "lib".to_owned()
    } else {
        module.join("::")
    }
}

fn graph_of(crate_folder: &str) -> BTreeMap<Module, BTreeSet<Module>> {
    imports(&modules(&repository().join(crate_folder).join("src")))
}

fn path(text: &str) -> Module {
    text.split("::").map(str::to_owned).collect()
}

#[test]
fn imports_are_read_from_use_trees_and_paths_and_a_circle_is_found() {
    let modules: BTreeMap<Module, String> = [
        (
            path("a"),
            "use crate::{b::{self, Thing}, c};\n// crate::d\n".to_owned(),
        ),
        (
            path("b"),
            "fn f() { super::c::g() }\nmod tests {\n    use super::*;\n}".to_owned(),
        ),
        (path("c"), "use crate::d::inner::{x, y};".to_owned()),
        (path("d"), "pub fn h() { crate::a::k(); }".to_owned()),
    ]
    .into();
    let graph = imports(&modules);
    assert_eq!(graph[&path("a")], [path("b"), path("c")].into());
    assert_eq!(graph[&path("b")], [path("c")].into());
    assert_eq!(graph[&path("c")], [path("d")].into());
    assert_eq!(
        circle(&graph).map(|found| found.iter().map(named).collect::<Vec<_>>()),
        Some(["a", "b", "c", "d", "a"].map(str::to_owned).to_vec())
    );
}

#[test]
fn no_module_of_the_workshop_or_the_viewer_imports_one_that_imports_it_back() {
    for crate_folder in ["workshop", "viewer"] {
        let graph = graph_of(crate_folder);
        // The reading sees the imports: the check runs the programs with the harness.
        let edges: usize = graph.values().map(BTreeSet::len).sum();
        assert!(edges > 10, "{crate_folder}: only {edges} imports read");
        if let Some(found) = circle(&graph) {
            let found: Vec<String> = found.iter().map(named).collect();
            panic!(
                "{crate_folder}: the imports go in a circle: {}",
                found.join(" → ")
            );
        }
    }
    assert!(
        graph_of("workshop")[&path("exercises::check")].contains(&path("harness::process")),
        "the check's import of the harness is not seen"
    );
}

#[test]
fn the_workshops_rooms_import_one_way() {
    // Each room, and the rooms it may import besides itself.
    let may_import: BTreeMap<&str, &[&str]> = [
        ("steps", &[][..]),
        ("spans", &[][..]),
        ("harness", &["steps", "spans"][..]),
        ("exercises", &["steps", "spans", "harness"][..]),
        ("runner", &["steps", "spans", "harness", "exercises"][..]),
        ("book", &["steps", "spans", "harness", "exercises"][..]),
    ]
    .into();
    let mut wrong = Vec::new();
    for (module, imported) in graph_of("workshop") {
        let Some(room) = module.first() else {
            continue;
        };
        let allowed = may_import
            .get(room.as_str())
            .unwrap_or_else(|| panic!("{}: a room the layout does not know", named(&module)));
        for target in imported {
            let target_room = target.first().map(String::as_str).unwrap_or("lib");
            if target_room != room && !allowed.contains(&target_room) {
                wrong.push(format!("{} imports {}", named(&module), named(&target)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the rooms' order: {wrong:#?}"
    );
}

#[test]
fn the_readme_names_every_room_of_the_workshop() {
    let readme = fs::read_to_string(repository().join("README.md")).unwrap();
    let start = readme
        .find("`workshop/src/` keeps each of its audiences")
        .expect("the README describes workshop/src/");
    let end = start + readme[start..].find("(`tests/layout.rs`)").unwrap();
    let description = &readme[start..end];
    let mut unnamed = Vec::new();
    for entry in fs::read_dir(repository().join("workshop/src")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "lib.rs" {
            continue;
        }
        // A folder as `runner/`, a file as `steps.rs`; `steps/` (what makes a step an exercise)
        // goes with `steps.rs`, `bin/` with `bin/cost/`.
        let stem = name.trim_end_matches(".rs");
        if !description.contains(&format!("`{stem}")) {
            unnamed.push(name);
        }
    }
    assert!(
        unnamed.is_empty(),
        "the README's description of workshop/src/ leaves out {unnamed:?}"
    );
}
