//! The exercises: for each step that has an `exercise.rs`, a starter made from the step's own
//! code, so that the starter and the solution (the step) can never disagree.
//!
//! A step marks what its attendees write as regions of its files, between
//! `// ANCHOR: <region>` and `// ANCHOR_END: <region>` (the book's include markers, which the
//! book and its diffs leave out). Its `exercise.rs` (an [`Exercise`], compiled into this crate
//! by [`crate::steps`]) gives, for each region, the TODO text that replaces it and a stand-in:
//! code that compiles and puts nothing in the trace. The starter of step `NN` is the whole
//! step, both programs, with those regions replaced, under `exercises/NN-name/`, as the packages
//! `exercise-NN-frontend` and `exercise-NN-backend`. `cargo run -p workshop starters` writes
//! every starter; a test fails when a committed one is not what it would write.

use std::{
    fs,
    path::{Path, PathBuf},
};

use crate::{
    steps::exercise::{EXERCISE_FILE, Exercise, Mistake, Todo},
    steps::{STEPS, Step, repository},
};

/// The folder of the starters, relative to the repository.
pub const FOLDER: &str = "exercises";

/// The most columns a line of a starter's TODO comment takes: rustfmt's 100 for code, less a
/// margin, so that a printed TODO line never reaches the page's edge.
const WIDTH: usize = 94;

/// A step and its exercise.
#[derive(Debug, Clone, Copy)]
pub struct StepExercise {
    pub step: &'static Step,
    pub exercise: &'static Exercise,
}

/// Every step that is an exercise, in order.
pub fn all() -> Vec<StepExercise> {
    STEPS
        .iter()
        .filter_map(|step| {
            step.exercise
                .map(|exercise| StepExercise { step, exercise })
        })
        .collect()
}

/// The exercise of the step numbered `number` (as [`crate::steps::find`] reads it).
pub fn find(number: &str) -> Result<StepExercise, String> {
    let step = crate::steps::find(number).ok_or_else(|| format!("there is no step {number:?}"))?;
    let exercise = step.exercise.ok_or_else(|| {
        let numbers: Vec<&str> = all().iter().map(|each| each.step.number).collect();
        format!(
            "step {} has no exercise; these steps do: {}",
            step.number,
            numbers.join(", ")
        )
    })?;
    Ok(StepExercise { step, exercise })
}

impl StepExercise {
    /// The hints, as the attendee reads them.
    pub fn hints(&self) -> Vec<String> {
        self.exercise
            .hints
            .iter()
            .map(|hint| dedent(hint))
            .collect()
    }

    /// The starter's folder, relative to the repository: `exercises/03-child-span-and-events`.
    pub fn folder(&self) -> String {
        format!("{FOLDER}/{}", self.step.folder)
    }

    /// The package of the starter's frontend: `exercise-03-frontend`.
    pub fn frontend(&self) -> String {
        self.package("frontend")
    }

    /// The package of the starter's backend: `exercise-03-backend`.
    pub fn backend(&self) -> String {
        self.package("backend")
    }

    /// The package of one of the starter's programs: `exercise-03-frontend`.
    fn package(&self, program: &str) -> String {
        format!("exercise-{}-{program}", self.step.number)
    }

    /// Every file of the starter, as (path relative to the repository, contents).
    pub fn starter(&self) -> Result<Vec<(String, String)>, String> {
        let mut files = Vec::new();
        for program in ["frontend", "backend"] {
            let package = self.package(program);
            let description = format!(
                "Exercise {}, {program}: the starter of step {} ({}), for you to complete",
                self.step.number, self.step.number, self.step.title
            );
            for (relative, mut text) in self.program_files(program, &package, &description)? {
                for todo in self
                    .exercise
                    .todos
                    .iter()
                    .filter(|todo| todo.file == relative)
                {
                    text = todo.replace_region(&text).map_err(|problem| {
                        format!("steps/{}/{relative}: {problem}", self.step.folder)
                    })?;
                }
                if relative.ends_with("/src/main.rs") {
                    text = self.with_starter_header(&text);
                }
                files.push((format!("{}/{relative}", self.folder()), text));
            }
        }
        for todo in self.exercise.todos {
            let known = files
                .iter()
                .any(|(path, _)| path == &format!("{}/{}", self.folder(), todo.file));
            if !known {
                return Err(format!(
                    "steps/{}/{EXERCISE_FILE}: a todo names {}, which the step does not have",
                    self.step.folder, todo.file
                ));
            }
        }
        Ok(files)
    }

    /// The programs `mistake` is made in: the one its file belongs to, and the backend too
    /// when it includes that file from the frontend (`#[path = "../../frontend/src/..."]`).
    pub fn mistaken_programs(&self, mistake: &Mistake) -> Result<Vec<&'static str>, String> {
        let program = mistake.program();
        let backend_main = repository()
            .join("steps")
            .join(self.step.folder)
            .join("backend/src/main.rs");
        let included = format!("#[path = \"../../{}\"]", mistake.file);
        match program {
            "frontend" if read(&backend_main)?.contains(&included) => {
                Ok(vec!["frontend", "backend"])
            }
            "frontend" => Ok(vec!["frontend"]),
            _ => Ok(vec!["backend"]),
        }
    }

    /// The step's own code with `mistake` made in it, for the tests that prove the check
    /// catches it: both programs' files, as (path relative to the step's folder, contents),
    /// each program in `packages` (program, package) with a `Cargo.toml` naming it so.
    pub fn with_mistake(
        &self,
        mistake: &Mistake,
        packages: &[(&str, String)],
    ) -> Result<Vec<(String, String)>, String> {
        let mut files = Vec::new();
        let mut made = false;
        for each in ["frontend", "backend"] {
            let package = packages
                .iter()
                .find(|(program, _)| *program == each)
                .map(|(_, package)| package.as_str());
            for (relative, mut text) in
                self.program_files(each, package.unwrap_or("unused"), "a mistake")?
            {
                // The other program is there for what the mistaken one includes from it.
                if package.is_none() && relative.ends_with("/Cargo.toml") {
                    continue;
                }
                if relative == mistake.file {
                    let found = text.matches(mistake.replace).count();
                    if found != 1 {
                        return Err(format!(
                            "step {}'s mistake {:?}: {found} places in {} read {:?}",
                            self.step.number, mistake.what, mistake.file, mistake.replace
                        ));
                    }
                    text = text.replacen(mistake.replace, mistake.with, 1);
                    made = true;
                }
                files.push((relative, text));
            }
        }
        match made {
            true => Ok(files),
            false => Err(format!(
                "step {}'s mistake {:?}: the step has no file {}",
                self.step.number, mistake.what, mistake.file
            )),
        }
    }

    /// One of the step's programs with `mistake` made in it (or none), as a package of its own
    /// (`package`) whose unit tests are `tests` (its `src/tests.rs`), as (path relative to the
    /// step's folder, contents): for the testing exercise, whose check runs an attendee's tests
    /// on the step and on each mistake of its corpus.
    pub fn program_with_tests(
        &self,
        program: &str,
        package: &str,
        mistake: Option<&Mistake>,
        tests: &str,
    ) -> Result<Vec<(String, String)>, String> {
        let from = self.program_folder(program);
        let mut files = vec![self.manifest_file(program, package, "an attendee's tests", true)?];
        let mut made = mistake.is_none();
        for name in source_files(&from.join("src"))? {
            let relative = format!("{program}/src/{name}");
            let mut text = read(&from.join("src").join(&name))?;
            // A file the program includes from elsewhere would not be in the package.
            if text.contains("#[path = ") {
                return Err(format!(
                    "{relative} includes a file from another folder: not a program whose tests \
                     can be judged alone"
                ));
            }
            if let Some(mistake) = mistake.filter(|mistake| mistake.file == relative) {
                if text.matches(mistake.replace).count() != 1 {
                    return Err(format!(
                        "step {}'s mistake {:?}: not once in {relative}",
                        self.step.number, mistake.what
                    ));
                }
                text = text.replacen(mistake.replace, mistake.with, 1);
                made = true;
            }
            files.push((relative, text));
        }
        if let (false, Some(mistake)) = (made, mistake) {
            return Err(format!(
                "step {}'s mistake {:?}: {program} has no source file {}",
                self.step.number, mistake.what, mistake.file
            ));
        }
        if !files
            .iter()
            .any(|(_, text)| text.contains("\nmod tests;\n"))
        {
            return Err(format!(
                "step {}'s {program} has no `mod tests;` for the tests to go in",
                self.step.number
            ));
        }
        files.push((format!("{program}/src/tests.rs"), tests.to_owned()));
        Ok(files)
    }

    /// One of the step's programs as files for a package of its own (`package`, described as
    /// `description`), as (path relative to the step's folder, contents): its `Cargo.toml`
    /// without the dev-dependencies, its sources without their unit tests.
    fn program_files(
        &self,
        program: &str,
        package: &str,
        description: &str,
    ) -> Result<Vec<(String, String)>, String> {
        let from = self.program_folder(program);
        let mut files = vec![self.manifest_file(program, package, description, false)?];
        for name in source_files(&from.join("src"))? {
            let text = without_unit_tests(&read(&from.join("src").join(&name))?);
            files.push((format!("{program}/src/{name}"), text));
        }
        Ok(files)
    }

    /// The starter's files that differ from what is in the repository's working tree: an
    /// attendee's work, or a starter its step has changed under.
    pub fn changed_files(&self) -> Result<Vec<String>, String> {
        let root = repository();
        let mut changed = Vec::new();
        for (path, contents) in self.starter()? {
            if fs::read_to_string(root.join(&path)).ok().as_ref() != Some(&contents) {
                changed.push(path);
            }
        }
        Ok(changed)
    }

    /// Replaces the starter's folder with a fresh starter.
    pub fn write(&self) -> Result<(), String> {
        self.write_under(&repository())
    }

    /// Writes the starter as [`StepExercise::write`] does, under `root` instead of the repository.
    fn write_under(&self, root: &Path) -> Result<(), String> {
        write_folder(root, &self.folder(), &self.starter()?)
    }

    /// Gives the attendee the starter back. What was in its folder, if it differs from the
    /// starter, is first copied to `target/exercise-backups/<folder>-<seconds since 1970>/`,
    /// whose path is returned.
    pub fn reset(&self) -> Result<Option<PathBuf>, String> {
        let backups = crate::harness::process::target_dir()?.join("exercise-backups");
        self.reset_under(&repository(), &backups)
    }

    /// As [`Exercise::reset`], with the starter under `root` and the backups in `backups`.
    fn reset_under(&self, root: &Path, backups: &Path) -> Result<Option<PathBuf>, String> {
        let backup = backups.join(self.step.folder);
        reset_folder(root, &self.folder(), &self.starter()?, &backup)
    }

    /// The folder of one of the step's programs.
    fn program_folder(&self, program: &str) -> PathBuf {
        repository()
            .join("steps")
            .join(self.step.folder)
            .join(program)
    }

    /// One of the step's programs' `Cargo.toml` for a package of its own, as (path relative to
    /// the step's folder, contents): see [`Self::renamed`].
    fn manifest_file(
        &self,
        program: &str,
        package: &str,
        description: &str,
        with_tests: bool,
    ) -> Result<(String, String), String> {
        let manifest = read(&self.program_folder(program).join("Cargo.toml"))?;
        Ok((
            format!("{program}/Cargo.toml"),
            self.renamed(program, &manifest, package, description, with_tests)?,
        ))
    }

    /// The step's `Cargo.toml` for a package of its own: renamed `package`, described as
    /// `description`. `with_tests` keeps the dev-dependencies of the step's unit tests; without,
    /// they are left out, and the package says it has no tests (`test = false`).
    fn renamed(
        &self,
        program: &str,
        manifest: &str,
        package: &str,
        description: &str,
        with_tests: bool,
    ) -> Result<String, String> {
        let step_package = format!("step-{}-{program}", self.step.number);
        let name_line = format!("name = \"{step_package}\"");
        if !manifest.lines().any(|line| line == name_line) {
            return Err(format!(
                "{step_package}'s Cargo.toml has no line {name_line:?}"
            ));
        }
        let mut out = String::new();
        let mut in_dev_dependencies = false;
        for line in manifest.lines() {
            if line.starts_with('[') {
                in_dev_dependencies = line == "[dev-dependencies]";
            }
            if in_dev_dependencies && !with_tests {
                continue;
            }
            if line == name_line {
                out.push_str(&format!("name = \"{package}\"\n"));
            } else if line.starts_with("description = ") {
                out.push_str(&format!("description = \"{description}\"\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        // Leaving out a section leaves the blank line that ended the one before it.
        while out.ends_with("\n\n") {
            out.pop();
        }
        if with_tests {
            return Ok(out);
        }
        out.push_str(&format!(
            "\n# No unit tests: `cargo run -p workshop check` is its test. So `cargo test` neither \
             builds\n# it nor stops when what is being written here does not compile yet.\n\
             [[bin]]\nname = \"{package}\"\npath = \"src/main.rs\"\ntest = false\n"
        ));
        Ok(out)
    }

    /// `main.rs` with a first comment that says what the file is and how to check it, and the
    /// lints a starter trips by design allowed (after the file's own `//!` lines).
    fn with_starter_header(&self, text: &str) -> String {
        let number = self.step.number;
        let header = format!(
            "// Exercise {number}: made from steps/{} by `cargo run -p workshop starters`.\n\
             // Write what each TODO asks for, then `cargo run -p workshop check {number}` says \
             what the trace\n\
             // still lacks. `cargo run -p workshop reset {number}` gives you this starter back.\n",
            self.step.folder
        );
        with_header(
            text,
            &header,
            "// Until every TODO is done, some of what the code imports or holds is unused.\n\
             #![allow(dead_code, unused_imports, unused_mut, unused_variables)]\n",
        )
    }
}

/// `text` with `header` above it, and `allowed` (the lints a starter trips by design) after its
/// own `//!` lines.
pub(crate) fn with_header(text: &str, header: &str, allowed: &str) -> String {
    let mut out = header.to_owned();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next_if(|line| line.starts_with("//!")) {
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(allowed);
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Writes `files` (paths relative to `root`), replacing what `folder` (relative to `root`) held.
pub(crate) fn write_folder(
    root: &Path,
    folder: &str,
    files: &[(String, String)],
) -> Result<(), String> {
    let folder = root.join(folder);
    if folder.exists() {
        fs::remove_dir_all(&folder)
            .map_err(|error| format!("cannot remove {}: {error}", folder.display()))?;
    }
    for (path, contents) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        fs::write(&path, contents)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    }
    Ok(())
}

/// Writes the starter `files` into `folder` (both relative to `root`) again. What the folder
/// held, if it differs from them, is first copied to `<backup>-<seconds since 1970>/`, whose
/// path is returned.
pub(crate) fn reset_folder(
    root: &Path,
    folder: &str,
    files: &[(String, String)],
    backup: &Path,
) -> Result<Option<PathBuf>, String> {
    let unchanged = files.iter().all(|(path, contents)| {
        fs::read_to_string(root.join(path)).is_ok_and(|text| &text == contents)
    });
    let mut kept = None;
    if root.join(folder).exists() && !unchanged {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let name = backup.file_name().unwrap_or_default().to_string_lossy();
        let to = backup.with_file_name(format!("{name}-{seconds}"));
        copy_folder(&root.join(folder), &to)?;
        kept = Some(to);
    }
    write_folder(root, folder, files)?;
    Ok(kept)
}

impl Todo {
    /// `text` with this todo's region replaced by its TODO comment and its stand-in; the anchor
    /// lines stay, so that the book can show the region of the starter.
    pub(crate) fn replace_region(&self, text: &str) -> Result<String, String> {
        let lines: Vec<&str> = text.lines().collect();
        let start_marker = format!("// ANCHOR: {}", self.region);
        let end_marker = format!("// ANCHOR_END: {}", self.region);
        let find = |marker: &str| {
            let found: Vec<usize> = (0..lines.len())
                .filter(|&at| lines[at].trim() == marker)
                .collect();
            match found.as_slice() {
                [at] => Ok(*at),
                _ => Err(format!(
                    "{} lines {marker:?}, where one is needed",
                    found.len()
                )),
            }
        };
        let (start, end) = (find(&start_marker)?, find(&end_marker)?);
        if end <= start {
            return Err(format!("{end_marker:?} comes before {start_marker:?}"));
        }
        let indent: String = lines[start]
            .chars()
            .take_while(|c| c.is_whitespace())
            .collect();
        let mut out: Vec<String> = lines[..=start].iter().map(|&l| l.to_owned()).collect();
        out.extend(todo_comment(self.say, &indent));
        for line in dedent(self.stand_in).lines() {
            match line.trim().is_empty() {
                true => out.push(String::new()),
                false => out.push(format!("{indent}{line}")),
            }
        }
        out.extend(lines[end..].iter().map(|&l| l.to_owned()));
        Ok(out.join("\n") + "\n")
    }
}

/// `say` as comment lines at `indent`, the first starting `TODO:`, wrapped to [`WIDTH`]
/// columns; a blank line in `say` starts a new paragraph.
fn todo_comment(say: &str, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for (index, paragraph) in say.trim().split("\n\n").enumerate() {
        if index > 0 {
            lines.push(format!("{indent}//"));
        }
        let mut line = match index {
            0 => format!("{indent}// TODO:"),
            _ => format!("{indent}//"),
        };
        for word in paragraph.split_whitespace() {
            let fresh = line.trim_end().ends_with("//") || line.ends_with("TODO:");
            if !fresh && line.chars().count() + 1 + word.chars().count() > WIDTH {
                lines.push(line);
                line = format!("{indent}//");
            }
            line.push(' ');
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// The source files of a program's `src` folder but its unit tests (`tests.rs`), sorted.
fn source_files(src: &Path) -> Result<Vec<String>, String> {
    let entries = fs::read_dir(src).map_err(|error| format!("{}: {error}", src.display()))?;
    let mut names: Vec<String> = entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs") && name != "tests.rs")
        .collect();
    names.sort();
    Ok(names)
}

/// `text` without its unit tests: `#[cfg(test)] mod tests;` (the tests in `tests.rs`) and a
/// `#[cfg(test)] mod tests { ... }` that ends the file. The starter's programs are the
/// attendee's, and `check` is their test.
fn without_unit_tests(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let is_test_module = lines[at] == "#[cfg(test)]"
            && lines
                .get(at + 1)
                .is_some_and(|next| next.starts_with("mod tests"));
        if is_test_module {
            if lines[at + 1] == "mod tests {" {
                // An inline test module: the rest of the file.
                break;
            }
            at += 2;
            continue;
        }
        out.push(lines[at]);
        at += 1;
    }
    while out.last().is_some_and(|line| line.is_empty()) {
        out.pop();
    }
    out.join("\n") + "\n"
}

/// Copies the files under `from` to `to`, keeping their relative paths.
fn copy_folder(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|error| format!("cannot create {}: {error}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|error| format!("{}: {error}", from.display()))?;
    for entry in entries.flatten() {
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            copy_folder(&source, &target)?;
        } else {
            fs::copy(&source, &target)
                .map_err(|error| format!("cannot copy {}: {error}", source.display()))?;
        }
    }
    Ok(())
}

/// `text` without the blank lines around it and without the indentation all its lines share.
pub fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.trim_matches('\n').lines().collect();
    let common = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = lines
        .iter()
        .map(|line| line.get(common..).unwrap_or("").trim_end())
        .collect();
    lines.join("\n").trim_end().to_owned()
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))
}

/// Every file under the starters' folder, relative to the repository, sorted.
pub fn committed_files() -> Vec<String> {
    fn walk(folder: &Path, root: &Path, found: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let path: PathBuf = entry.path();
            if path.is_dir() {
                walk(&path, root, found);
            } else if let Ok(relative) = path.strip_prefix(root) {
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let root = repository();
    let mut found = Vec::new();
    walk(&root.join(FOLDER), &root, &mut found);
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file at `path` as the last commit has it, if this is a git checkout.
    fn committed(path: &str) -> Option<String> {
        let output = std::process::Command::new("git")
            .arg("show")
            .arg(format!("HEAD:{path}"))
            .current_dir(repository())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Every starter file is what the generator makes from its step. A file an attendee has
    /// edited is held to the last commit instead: fresh there, it is their work, not a stale
    /// starter (in CI's fresh clone the two are the same).
    #[test]
    fn every_committed_starter_is_what_the_generator_makes_from_its_step() {
        let root = repository();
        let mut expected = Vec::new();
        for exercise in all() {
            for (path, contents) in exercise.starter().unwrap() {
                let on_disk = fs::read_to_string(root.join(&path)).ok();
                let fresh = on_disk.as_ref() == Some(&contents)
                    || committed(&path).as_ref() == Some(&contents);
                assert!(
                    fresh,
                    "{path} is not what `cargo run -p workshop starters` makes from step {}: \
                     run it",
                    exercise.step.number
                );
                if on_disk.as_ref() != Some(&contents) {
                    println!("{path} holds an attendee's work: held to the last commit");
                }
                expected.push(path);
            }
        }
        expected.sort();
        // The steps' exercise folders (the testing exercise's test holds the whole of exercises/).
        let folders: Vec<String> = all().iter().map(|exercise| exercise.folder()).collect();
        let mut found = committed_files();
        found.retain(|path| {
            folders
                .iter()
                .any(|folder| path.starts_with(&format!("{folder}/")))
        });
        // An attendee may add files of their own; the committed starters have none.
        if std::env::var_os("CI").is_none() {
            found.retain(|path| expected.contains(path));
        }
        assert_eq!(found, expected, "files under {FOLDER}/");
        assert!(!expected.is_empty());
    }

    #[test]
    fn a_region_becomes_its_todo_and_its_stand_in_at_the_regions_indent() {
        let todo = Todo {
            file: "frontend/src/main.rs",
            region: "todo_x",
            say: "\n    Start the span.\n    Then end it.\n\n    A second paragraph.\n    ",
            stand_in: "\n            let span = 1;\n\n            let other = 2;\n            ",
        };
        let text = "fn f() {\n    // ANCHOR: todo_x\n    let span = start();\n    \
                    // ANCHOR_END: todo_x\n    span.end();\n}\n";
        assert_eq!(
            todo.replace_region(text).unwrap(),
            "fn f() {\n    // ANCHOR: todo_x\n    // TODO: Start the span. Then end it.\n    \
             //\n    // A second paragraph.\n    let span = 1;\n\n    let other = 2;\n    \
             // ANCHOR_END: todo_x\n    span.end();\n}\n"
        );
        let missing = Todo {
            region: "todo_y",
            ..todo
        };
        assert_eq!(
            missing.replace_region(text).unwrap_err(),
            "0 lines \"// ANCHOR: todo_y\", where one is needed"
        );
    }

    #[test]
    fn reset_gives_the_starter_back_and_keeps_the_attendees_files() {
        let scratch = std::env::temp_dir().join(format!("reset-test-{}", std::process::id()));
        let (root, backups) = (scratch.join("repository"), scratch.join("backups"));
        let exercise = find("03").unwrap();
        // A fresh starter needs no backup.
        assert_eq!(exercise.reset_under(&root, &backups).unwrap(), None);
        let main = root.join(exercise.folder()).join("frontend/src/main.rs");
        let starter = fs::read_to_string(&main).unwrap();
        fs::write(&main, "// my attempt\n").unwrap();
        fs::write(main.with_file_name("extra.rs"), "// a file of mine\n").unwrap();

        let backup = exercise.reset_under(&root, &backups).unwrap().unwrap();
        assert_eq!(fs::read_to_string(&main).unwrap(), starter);
        assert!(!main.with_file_name("extra.rs").exists());
        let kept = backup.join("frontend/src/main.rs");
        assert_eq!(fs::read_to_string(kept).unwrap(), "// my attempt\n");
        assert!(backup.join("frontend/src/extra.rs").exists());
        fs::remove_dir_all(&scratch).unwrap();
    }

    #[test]
    fn todo_comments_wrap_at_the_line_width() {
        let say = "word ".repeat(60);
        for line in todo_comment(&say, "        ") {
            assert!(line.chars().count() <= WIDTH, "{line:?}");
            assert!(line.starts_with("        //"));
        }
    }

    #[test]
    fn texts_lose_their_common_indentation_and_the_blank_lines_around_them() {
        assert_eq!(
            dedent("\n        a\n          b\n\n        c\n        "),
            "a\n  b\n\nc"
        );
        assert_eq!(dedent(""), "");
    }

    #[test]
    fn every_step_with_an_exercise_file_has_a_whole_exercise_and_no_other_does() {
        for step in STEPS {
            let file = repository()
                .join("steps")
                .join(step.folder)
                .join(EXERCISE_FILE);
            assert_eq!(file.exists(), step.exercise.is_some(), "{}", file.display());
            if let Some(exercise) = step.exercise {
                // Something to write, help to write it, and mistakes proven caught.
                assert!(!exercise.todos.is_empty(), "{}", step.number);
                assert!(exercise.hints.len() >= 2, "{}", step.number);
                assert!(!exercise.why_no_span.trim().is_empty(), "{}", step.number);
                assert!(exercise.mistakes.len() >= 2, "{}", step.number);
            }
        }
    }

    #[test]
    fn unit_tests_are_left_out_of_a_starter() {
        assert_eq!(
            without_unit_tests("fn a() {}\n\n#[cfg(test)]\nmod tests;\n"),
            "fn a() {}\n"
        );
        assert_eq!(
            without_unit_tests("fn a() {}\n\n#[cfg(test)]\nmod tests {\n    fn t() {}\n}\n"),
            "fn a() {}\n"
        );
    }
}
