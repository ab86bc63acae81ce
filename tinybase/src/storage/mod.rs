//! The file store: where uploaded files live, behind one API for every backend.
//!
//! Files are objects in an [`ObjectStore`] (the `object_store` crate): a folder on local
//! disk by default, or any S3-compatible service. Keys are
//! `{collection id}/{record id}/{stored name}`, so a record's files share a prefix and a
//! collection's files share a shorter one; thumbnails live under `thumbs/` + the file's key.
//!
//! Deleting a stored object follows the database: `deletions` records what to delete in
//! the same transaction as the write that stops referring to it, so a crash in between
//! is cleaned up later and no file is orphaned forever.

mod cache;
pub mod copy;
pub mod deletions;
pub mod names;
pub mod sniff;
pub mod thumbs;

use std::fmt;
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    GetOptions, GetRange, GetResult, ObjectMeta, ObjectStore, ObjectStoreExt, WriteMultipart,
};

use crate::config::{StorageBackend, StorageSettings};
use crate::{Error, Result};
use cache::ObjectCache;

/// Parts in flight at once per upload. With object_store's 5 MiB parts, an upload holds at
/// most about 15 MiB of its file in memory, whatever the file's size.
const UPLOAD_CONCURRENCY: usize = 2;

/// Most bytes of small objects kept in memory (see `cache.rs`).
const CACHE_BYTES: usize = 32 << 20;

/// Largest object kept in memory: a typical avatar, image or its thumbnail.
const CACHE_LARGEST: u64 = 256 << 10;

/// The prefix of every thumbnail's key.
const THUMBS_PREFIX: &str = "thumbs";

/// The folder of the local backend that `settings` describe for the database file
/// `database`: a relative `storage.path` is taken from the database's folder, and the
/// default is a `storage` folder beside the database.
pub fn local_folder(settings: &StorageSettings, database: &FsPath) -> std::path::PathBuf {
    let beside = database.parent().unwrap_or_else(|| FsPath::new("."));
    match &settings.path {
        Some(path) if path.is_absolute() => path.clone(),
        Some(path) => beside.join(path),
        None => beside.join("storage"),
    }
}

/// Where files are stored. Cheap to clone.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
    /// The same store when it is the local backend: reads of small files and metadata
    /// then take one blocking call (open, stat, read) instead of one per step.
    local: Option<Arc<LocalFileSystem>>,
    /// The folder of the local backend: an upload cut short by a crash leaves a staging
    /// file there (`name#n`) that the object API does not list.
    local_root: Option<std::path::PathBuf>,
    /// Small objects read recently, shared by every clone.
    cache: Arc<ObjectCache>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileStore({})", self.inner)
    }
}

impl FileStore {
    /// The store `settings` describe; a relative local path is taken from the directory of
    /// the database file `database` (the default `storage` folder sits beside it).
    ///
    /// # Errors
    /// A folder that cannot be created, or S3 settings that do not make a client.
    pub fn open(settings: &StorageSettings, database: &FsPath) -> Result<Self> {
        match settings.backend {
            StorageBackend::Local => Self::local(&local_folder(settings, database)),
            StorageBackend::S3 => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(settings.s3_bucket.clone().unwrap_or_default())
                    .with_region(&settings.s3_region)
                    .with_virtual_hosted_style_request(!settings.s3_path_style);
                if let Some(endpoint) = &settings.s3_endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(key) = &settings.s3_access_key_id {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = &settings.s3_secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let store = builder.build().map_err(|err| {
                    Error::internal(format!("cannot set up S3 file storage: {err}"))
                })?;
                Ok(Self {
                    inner: Arc::new(store),
                    local: None,
                    local_root: None,
                    cache: new_cache(),
                })
            }
        }
    }

    /// Files in the folder `dir`, created if missing.
    ///
    /// # Errors
    /// A folder that cannot be created or opened.
    pub fn local(dir: &FsPath) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|err| {
            Error::internal(format!(
                "cannot create the file storage folder {}: {err}",
                dir.display()
            ))
        })?;
        let store = Arc::new(
            LocalFileSystem::new_with_prefix(dir)
                .map_err(store_error)?
                .with_automatic_cleanup(true),
        );
        Ok(Self {
            inner: store.clone(),
            local: Some(store),
            local_root: Some(dir.to_path_buf()),
            cache: new_cache(),
        })
    }

    /// Starts writing the object `key`; nothing is visible under `key` until
    /// [`Upload::finish`].
    ///
    /// # Errors
    /// Internal errors from the backend.
    pub async fn upload(&self, key: &str) -> Result<Upload> {
        let upload = self
            .inner
            .put_multipart(&Path::from(key))
            .await
            .map_err(store_error)?;
        Ok(Upload {
            writer: WriteMultipart::new(upload),
            size: 0,
            key: key.to_owned(),
            cache: Arc::clone(&self.cache),
        })
    }

    /// Stores `bytes` whole under `key` (for small objects such as thumbnails).
    ///
    /// # Errors
    /// Internal errors from the backend.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.inner
            .put(&Path::from(key), bytes.into())
            .await
            .map_err(store_error)?;
        self.cache.forget(key, &[]);
        Ok(())
    }

    /// The object's size, time and entity tag, or `None` when it does not exist.
    ///
    /// # Errors
    /// Internal errors from the backend.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        if let Some((meta, _)) = self.cache.get(key) {
            return Ok(Some(meta));
        }
        if let Some(local) = &self.local {
            return Ok(open_local(local, key, 0).await?.map(|(meta, _)| meta));
        }
        match self.inner.head(&Path::from(key)).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(store_error(err)),
        }
    }

    /// The whole object `key` to send, or `None` when it does not exist: in memory when
    /// it holds at most `in_memory_up_to` bytes, else as a stream. Small objects read
    /// recently come from memory; others take one backend request (on local disk one
    /// blocking call) where `head` then `get` would take two or three.
    ///
    /// # Errors
    /// Internal errors from the backend.
    pub async fn open_whole(&self, key: &str, in_memory_up_to: u64) -> Result<Option<Opened>> {
        if let Some((meta, bytes)) = self.cache.get(key)
            && meta.size <= in_memory_up_to
        {
            return Ok(Some(Opened::InMemory(meta, bytes)));
        }
        let epoch = self.cache.epoch();
        let opened = self.open_uncached(key, in_memory_up_to).await?;
        if let Some(Opened::InMemory(meta, bytes)) = &opened {
            self.cache.fill(epoch, key, meta, bytes);
        }
        Ok(opened)
    }

    /// [`FileStore::open_whole`] from the backend.
    async fn open_uncached(&self, key: &str, in_memory_up_to: u64) -> Result<Option<Opened>> {
        if let Some(local) = &self.local {
            match open_local(local, key, in_memory_up_to).await? {
                None => return Ok(None),
                Some((meta, Some(bytes))) => return Ok(Some(Opened::InMemory(meta, bytes))),
                // Too large to hold: streamed below, like any backend's object.
                Some((_, None)) => {}
            }
        }
        let Some(mut found) = self.whole(key).await? else {
            return Ok(None);
        };
        if self.local.is_some() {
            // Local entity tags are all made from size and time (see `local_file`).
            found.meta.e_tag = None;
        }
        if found.meta.size > in_memory_up_to {
            return Ok(Some(Opened::Stream(found)));
        }
        let meta = found.meta.clone();
        let bytes = found.bytes().await.map_err(store_error)?;
        Ok(Some(Opened::InMemory(meta, bytes)))
    }

    /// The bytes of `key` in `range` (all of them for `None`), as a stream.
    ///
    /// # Errors
    /// Internal errors from the backend, including a missing object.
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<GetResult> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        self.inner
            .get_opts(&Path::from(key), options)
            .await
            .map_err(store_error)
    }

    /// The whole of `key` as a stream with its size, time and entity tag, or `None` when
    /// it does not exist: one backend request where `head` then `get` would take two.
    ///
    /// # Errors
    /// Internal errors from the backend.
    pub async fn whole(&self, key: &str) -> Result<Option<GetResult>> {
        match self.inner.get(&Path::from(key)).await {
            Ok(found) => Ok(Some(found)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(store_error(err)),
        }
    }

    /// The whole object, in memory (for bounded objects only, such as an image to resize).
    ///
    /// # Errors
    /// Internal errors from the backend, including a missing object.
    pub async fn read(&self, key: &str) -> Result<Bytes> {
        self.get(key, None)
            .await?
            .bytes()
            .await
            .map_err(store_error)
    }

    /// How many objects there are under `prefix/`, counting up to `limit`.
    ///
    /// # Errors
    /// Internal errors from the backend.
    pub async fn count_under(&self, prefix: &str, limit: usize) -> Result<usize> {
        let mut listing = self.inner.list(Some(&Path::from(prefix)));
        let mut count = 0;
        while count < limit {
            match listing.next().await {
                Some(Ok(_)) => count += 1,
                Some(Err(object_store::Error::NotFound { .. })) | None => break,
                Some(Err(err)) => return Err(store_error(err)),
            }
        }
        Ok(count)
    }

    /// Deletes the object `key`, every object under `key/` and their thumbnails. Missing
    /// objects are not an error: deleting twice is harmless.
    ///
    /// # Errors
    /// Internal errors from the backend.
    pub async fn remove(&self, key: &str) -> Result<()> {
        // A record's or a collection's key names a folder on local disk, not an object.
        if self.head(key).await?.is_some() {
            match self.inner.delete(&Path::from(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(store_error(err)),
            }
        }
        if let Some(root) = &self.local_root {
            remove_staged(root, key).await?;
        }
        for prefix in [key.to_owned(), thumbs_key(key)] {
            let mut listing = self.inner.list(Some(&Path::from(prefix.as_str())));
            while let Some(meta) = listing.next().await {
                let meta = match meta {
                    Ok(meta) => meta,
                    Err(object_store::Error::NotFound { .. }) => continue,
                    Err(err) => return Err(store_error(err)),
                };
                match self.inner.delete(&meta.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(err) => return Err(store_error(err)),
                }
            }
        }
        self.cache.forget(key, &[key, &thumbs_key(key)]);
        Ok(())
    }
}

fn new_cache() -> Arc<ObjectCache> {
    Arc::new(ObjectCache::new(CACHE_BYTES, CACHE_LARGEST))
}

/// [`local_file::open`] of the object `key` of the local backend, on a blocking thread.
async fn open_local(
    local: &LocalFileSystem,
    key: &str,
    read_up_to: u64,
) -> Result<Option<(ObjectMeta, Option<Bytes>)>> {
    let location = Path::from(key);
    let path = local.path_to_filesystem(&location).map_err(store_error)?;
    tokio::task::spawn_blocking(move || local_file::open(&path, location, read_up_to)).await?
}

/// An object opened by [`FileStore::open_whole`].
pub enum Opened {
    /// Small enough to hold: its metadata and all its bytes.
    InMemory(ObjectMeta, Bytes),
    /// Larger: read as it is sent.
    Stream(GetResult),
}

/// Files of the local backend read with plain blocking calls.
mod local_file {
    use std::io::Read;

    use bytes::Bytes;
    use object_store::ObjectMeta;
    use object_store::path::Path;

    use crate::{Error, Result};

    /// Opens the file at `path` (the object `location`): its metadata, and its bytes when
    /// it holds at most `read_up_to` bytes; `None` when there is no such file.
    ///
    /// The metadata carries no entity tag: the download handler makes one from the size
    /// and modification time, the same for every way a local file is looked at.
    pub(super) fn open(
        path: &std::path::Path,
        location: Path,
        read_up_to: u64,
    ) -> Result<Option<(ObjectMeta, Option<Bytes>)>> {
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(err) if is_missing(&err) => return Ok(None),
            Err(err) => return Err(io_error(&err)),
        };
        let metadata = file.metadata().map_err(|err| io_error(&err))?;
        if !metadata.is_file() {
            // A record's folder, not an object.
            return Ok(None);
        }
        let meta = ObjectMeta {
            location,
            last_modified: metadata.modified().map_err(|err| io_error(&err))?.into(),
            size: metadata.len(),
            e_tag: None,
            version: None,
        };
        if meta.size > read_up_to {
            return Ok(Some((meta, None)));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
        file.read_to_end(&mut bytes).map_err(|err| io_error(&err))?;
        // Objects are renamed into place whole, so this is the size just read; the bytes
        // are what is sent, so they decide.
        let meta = ObjectMeta {
            size: bytes.len() as u64,
            ..meta
        };
        Ok(Some((meta, Some(Bytes::from(bytes)))))
    }

    fn is_missing(err: &std::io::Error) -> bool {
        // A path through a file (`a.png/thumbs`) is as missing as an absent one.
        matches!(
            err.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
        )
    }

    fn io_error(err: &std::io::Error) -> Error {
        Error::internal(format!("file storage: {err}"))
    }
}

/// The key of a record's file.
pub fn file_key(collection_id: &str, record_id: &str, name: &str) -> String {
    format!("{collection_id}/{record_id}/{name}")
}

/// The key prefix of all a record's files.
pub fn record_key(collection_id: &str, record_id: &str) -> String {
    format!("{collection_id}/{record_id}")
}

/// The key prefix of a file's (or a record's, or a collection's) thumbnails.
pub fn thumbs_key(key: &str) -> String {
    format!("{THUMBS_PREFIX}/{key}")
}

/// A file being written, chunk by chunk.
pub struct Upload {
    writer: WriteMultipart,
    size: u64,
    /// Where it goes, forgotten by the cache once written.
    key: String,
    cache: Arc<ObjectCache>,
}

impl Upload {
    /// Appends `chunk`, waiting while earlier parts are still being sent.
    ///
    /// # Errors
    /// Internal errors from the backend.
    pub async fn write(&mut self, chunk: Bytes) -> Result<()> {
        self.writer
            .wait_for_capacity(UPLOAD_CONCURRENCY)
            .await
            .map_err(store_error)?;
        self.size += chunk.len() as u64;
        self.writer.put(chunk);
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Completes the object.
    ///
    /// # Errors
    /// Internal errors from the backend; the object is then not stored.
    pub async fn finish(self) -> Result<()> {
        self.writer.finish().await.map_err(store_error)?;
        self.cache.forget(&self.key, &[]);
        Ok(())
    }

    /// Gives up: nothing is stored (failures are only logged: there is nothing to show).
    pub async fn abort(self) {
        if let Err(err) = self.writer.abort().await {
            tracing::warn!(%err, "could not abort a file upload");
        }
    }
}

/// Deletes the staging files (`{name}#{n}`) a cut-short local upload of `key` left.
async fn remove_staged(root: &FsPath, key: &str) -> Result<()> {
    let path = root.join(key);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let mut staged = name.to_os_string();
    staged.push("#");
    let staged = staged.to_string_lossy().into_owned();
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    while let Some(entry) = entries.next_entry().await? {
        if entry.file_name().to_string_lossy().starts_with(&staged) {
            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
    Ok(())
}

fn store_error(err: object_store::Error) -> Error {
    Error::internal(format!("file storage: {err}"))
}
