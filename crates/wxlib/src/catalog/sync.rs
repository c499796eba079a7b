//! Keeps this node's search index in step with the catalog tables. Every change to a record bumps
//! its `seq`; the index remembers the last `seq` it applied (a small file beside it) and applies
//! whatever came after, whichever node or command wrote it. Applying a change twice is harmless
//! (upsert by id), so a crash between the index commit and the file write loses nothing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::CatalogError;
use crate::db::Db;
use crate::jobs::{Next, Pause, forever};

const CHUNK: i64 = 5000;

pub struct IndexSync {
    pub db: Db,
    pub index: Arc<search::CatalogIndex>,
    pub seq_file: PathBuf,
    pub wake: Arc<Notify>,
}

impl IndexSync {
    pub fn last_seq(&self) -> i64 {
        applied_seq(&self.seq_file)
    }

    fn store_seq(&self, seq: i64) -> Result<(), CatalogError> {
        let tmp = self.seq_file.with_extension("tmp");
        std::fs::write(&tmp, seq.to_string()).and_then(|_| std::fs::rename(&tmp, &self.seq_file)).map_err(|source| {
            CatalogError::IndexFile { what: format!("cannot record index position in {}", self.seq_file.display()), source }
        })
    }

    /// Applies every pending change with one writer and one commit; returns how many.
    pub async fn run_once(&self) -> Result<usize, CatalogError> {
        let mut last = self.last_seq();
        let first = self.db.catalog_changes_since(last, CHUNK).await?;
        if first.is_empty() {
            return Ok(0);
        }
        // 64 MB of indexing heap keeps a big import's memory in bounds; one commit at the end
        // makes one set of segments instead of one per chunk.
        let mut writer = self.index.writer_with(2, 64 * 1024 * 1024)?;
        let mut applied = 0;
        let mut changes = first;
        while let Some(&(max_seq, _, _)) = changes.last() {
            applied += changes.len();
            writer = tokio::task::spawn_blocking(move || apply(&writer, changes).map(|_| writer)).await??;
            last = max_seq;
            changes = self.db.catalog_changes_since(last, CHUNK).await?;
        }
        let writer = tokio::task::spawn_blocking(move || writer.commit().map(|_| writer)).await??;
        drop(tokio::task::spawn_blocking(move || writer.wait_merging_threads()));
        self.store_seq(last)?;
        Ok(applied)
    }

    /// Follows the database until the process ends: on wake-up (an import on this node) and
    /// every few seconds (changes from other nodes).
    pub async fn run(self) {
        let pause = Pause::every(Duration::from_secs(3)).or_when(&self.wake);
        let sync = &self;
        forever("search index update", pause, move || async move {
            let n = sync.run_once().await?;
            if n > 0 {
                tracing::info!(changes = n, "search index updated");
            }
            Ok::<_, CatalogError>(Next::Pause)
        })
        .await
    }
}

/// The last catalog `seq` the index whose position file is `seq_file` applied (0: none yet).
pub fn applied_seq(seq_file: &std::path::Path) -> i64 {
    std::fs::read_to_string(seq_file).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn apply(writer: &search::CatalogWriter, changes: Vec<(i64, String, Option<Vec<u8>>)>) -> Result<(), CatalogError> {
    for (_, id, marc) in changes {
        let record = marc.as_deref().and_then(|m| marc::Reader::with_charset(m, marc::Charset::Utf8).next()).and_then(Result::ok);
        match record {
            Some(record) => writer.upsert(&search::SearchDoc::from_bib_with_id(&marc::Bib::from_record(&record), id))?,
            None => writer.delete(&id),
        }
    }
    Ok(())
}

/// Opens this node's index; an index written by another analysis version is rebuilt from the
/// database (which is the source of truth) rather than refused.
pub fn open_index(dir: &std::path::Path) -> Result<search::CatalogIndex, CatalogError> {
    match search::CatalogIndex::create_or_open(dir) {
        Err(search::Error::Incompatible(why)) => {
            tracing::warn!(%why, dir = %dir.display(), "search index is from another version; rebuilding it from the database");
            std::fs::remove_dir_all(dir)
                .map_err(|source| CatalogError::IndexFile { what: format!("cannot remove {}", dir.display()), source })?;
            Ok(search::CatalogIndex::create_or_open(dir)?)
        }
        other => Ok(other?),
    }
}
