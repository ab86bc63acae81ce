//! Copying the local file storage next to a database backup (`backup --with-files`).
//!
//! Stored files are never changed in place: a new upload gets a new name and a removed
//! file is deleted. So a plain copy of the folder taken *after* the database snapshot holds
//! every file that snapshot refers to (plus, at worst, a few newer ones it does not know).

use std::fs;
use std::path::Path;

use crate::{Error, Result};

/// What a copy did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Files copied.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Copies every stored file under `from` into `to`, which must not exist, keeping the
/// folder layout. Upload staging files (`name#n`, left by an upload a crash cut short) are
/// not files of any record and are skipped. A missing `from` (nothing was ever uploaded)
/// makes an empty `to`.
///
/// # Errors
/// 409 when `to` exists; internal errors when a file cannot be read or written.
pub fn copy_folder(from: &Path, to: &Path) -> Result<Copied> {
    if to.exists() {
        return Err(Error::conflict(format!("{} already exists", to.display())));
    }
    fs::create_dir_all(to).map_err(|err| io_error("create", to, &err))?;
    let mut copied = Copied::default();
    if from.exists() {
        copy_into(from, to, &mut copied)?;
    }
    Ok(copied)
}

fn copy_into(from: &Path, to: &Path, copied: &mut Copied) -> Result<()> {
    let entries = fs::read_dir(from).map_err(|err| io_error("read", from, &err))?;
    for entry in entries {
        let entry = entry.map_err(|err| io_error("read", from, &err))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|err| io_error("read", &source, &err))?;
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(|err| io_error("create", &target, &err))?;
            copy_into(&source, &target, copied)?;
        } else if kind.is_file() && !entry.file_name().to_string_lossy().contains('#') {
            let bytes =
                fs::copy(&source, &target).map_err(|err| io_error("copy", &source, &err))?;
            copied.files += 1;
            copied.bytes += bytes;
        }
    }
    Ok(())
}

fn io_error(action: &str, path: &Path, err: &std::io::Error) -> Error {
    Error::internal(format!("cannot {action} {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_tree_skips_staging_files_and_refuses_an_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("storage");
        fs::create_dir_all(from.join("c1/r1")).unwrap();
        fs::create_dir_all(from.join("thumbs/c1/r1/a.png")).unwrap();
        fs::write(from.join("c1/r1/a.png"), b"png!").unwrap();
        fs::write(from.join("c1/r1/b.txt#3"), b"half an upload").unwrap();
        fs::write(from.join("thumbs/c1/r1/a.png/10x10"), b"t").unwrap();

        let to = dir.path().join("copy.files");
        let copied = copy_folder(&from, &to).unwrap();
        assert_eq!(copied, Copied { files: 2, bytes: 5 });
        assert_eq!(fs::read(to.join("c1/r1/a.png")).unwrap(), b"png!");
        assert_eq!(fs::read(to.join("thumbs/c1/r1/a.png/10x10")).unwrap(), b"t");
        assert!(!to.join("c1/r1/b.txt#3").exists());

        let err = copy_folder(&from, &to).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict);
        assert_eq!(fs::read(to.join("c1/r1/a.png")).unwrap(), b"png!");
    }

    #[test]
    fn a_storage_folder_never_made_copies_as_an_empty_folder() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("copy.files");
        let copied = copy_folder(&dir.path().join("missing"), &to).unwrap();
        assert_eq!(copied, Copied::default());
        assert!(to.is_dir());
    }
}
