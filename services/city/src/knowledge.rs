//! The hotline knowledge base (Art. 31): units keep entries for their own
//! lines; intake answers a consultation from a matching valid entry; anyone
//! in the mesh searches it by text or catalogue item. Text is segmented into
//! words with jieba, made for Chinese, so 供暖 matches 供暖时间 without
//! spaces between words (the segmenter is text triage's, shared).

use crate::tables::knowledge::{self, Entry};
use hotline_core::{Tier, Topology};
use hotline_proto::v1::knowledge_service_server::KnowledgeService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::{Ctx, guard, idem, meta, wire};
/// The words of a text, as search matches them: lowercase, two characters
/// or more, no punctuation, no stop words.
pub use hotline_triage::segment::words;
use tonic::{Request, Response, Status};

/// Entries valid at `now`, in `category` when given, matching `text` when
/// given, best first.
async fn ranked(ctx: &Ctx, text: &str, category: &str, now: i64) -> Result<Vec<(usize, Entry)>> {
    let mut c = ctx.db.acquire().await?;
    let entries = knowledge::valid_at(&mut c, now, category).await?;
    if entries.is_empty() {
        // Nothing to match: the text is not cut into words at all.
        return Ok(Vec::new());
    }
    let query = words(text);
    let mut hits: Vec<(usize, Entry)> = entries
        .into_iter()
        .map(|e| (query.iter().filter(|w| e.tokens.contains(w)).count(), e))
        .filter(|(score, _)| query.is_empty() || *score > 0)
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.entry_id.cmp(&b.1.entry_id)));
    Ok(hits)
}

/// The entry that answers a consultation, if one does: in its catalogue
/// item and sharing a word with it, or, with no item given, sharing two.
pub async fn answer_for(ctx: &Ctx, text: &str, category: &str) -> Result<Option<Entry>> {
    let need = if category.is_empty() { 2 } else { 1 };
    let best = ranked(ctx, text, category, ctx.now())
        .await?
        .into_iter()
        .next();
    Ok(best.filter(|(score, _)| *score >= need).map(|(_, e)| e))
}

/// Whether `unit` handles catalogue item `code`: its department or line,
/// or a territorial unit for a territory's item. The city keeps any.
fn handles(topology: &Topology, unit: &str, code: &str) -> bool {
    let (Some(u), Some(item)) = (topology.unit(unit), topology.item(code)) else {
        return false;
    };
    match u.tier {
        Tier::City => true,
        Tier::Township | Tier::Community | Tier::District => item.territory,
        Tier::Department | Tier::Central => {
            item.department.as_deref() == Some(unit)
                || item
                    .line
                    .as_ref()
                    .is_some_and(|l| u.lines.contains(&l.line))
        }
    }
}

fn to_wire(e: &Entry) -> KnowledgeEntry {
    KnowledgeEntry {
        entry_id: e.entry_id.clone(),
        question: e.question.clone(),
        answer: e.answer.clone(),
        category_codes: e.category_codes.clone(),
        valid_from: Some(wire::ts(e.valid_from_us)),
        valid_to: e.valid_to_us.map(wire::ts),
        owner_unit: e.owner_unit.clone(),
    }
}

pub struct Knowledge {
    ctx: Ctx,
}

impl Knowledge {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    async fn upsert(
        &self,
        caller: &meta::Caller,
        r: UpsertKnowledgeEntryRequest,
    ) -> Result<UpsertKnowledgeEntryResponse> {
        let e = r
            .entry
            .clone()
            .ok_or_else(|| ServiceError::invalid("entry", "required"))?;
        required("entry.question", &e.question)?;
        required("entry.answer", &e.answer)?;
        if e.category_codes.is_empty() {
            return Err(ServiceError::invalid(
                "entry.category_codes",
                "at least one catalogue item",
            ));
        }
        let owner = match e.owner_unit.as_str() {
            "" => caller.unit.clone(),
            o => o.to_string(),
        };
        guard::acts_for_itself(&meta::Caller {
            unit: caller.unit.clone(),
            target: owner.clone(),
            principal: caller.principal.clone(),
        })?;
        let topology = &self.ctx.topology;
        for (i, code) in e.category_codes.iter().enumerate() {
            if topology.item(code).is_none() {
                return Err(ServiceError::invalid(
                    format!("entry.category_codes[{i}]"),
                    format!("{code:?} is not in the catalogue"),
                ));
            }
            if !handles(topology, &owner, code) {
                return Err(ServiceError::PermissionDenied(format!(
                    "unit {owner} does not handle {code}: it keeps entries for its own lines only"
                )));
            }
        }
        let valid_from = e.valid_from.as_ref().map(wire::micros);
        let valid_to = e.valid_to.as_ref().map(wire::micros);
        if let (Some(from), Some(to)) = (valid_from, valid_to)
            && to <= from
        {
            return Err(ServiceError::invalid(
                "entry.valid_to",
                "must be after valid_from",
            ));
        }
        let scope = idem::scope("UpsertKnowledgeEntry", &owner);
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let entry_id = if e.entry_id.is_empty() {
                    crate::record::next_id(tx, "knowledge", "KB").await?
                } else {
                    let old = knowledge::get(tx, &e.entry_id).await?.ok_or_else(|| {
                        ServiceError::not_found("knowledge entry", e.entry_id.clone())
                    })?;
                    if old.owner_unit != owner {
                        return Err(ServiceError::PermissionDenied(format!(
                            "knowledge entry {} is kept by unit {}",
                            e.entry_id, old.owner_unit
                        )));
                    }
                    e.entry_id.clone()
                };
                let stored = Entry {
                    entry_id,
                    tokens: words(&format!("{} {}", e.question, e.answer)),
                    question: e.question,
                    answer: e.answer,
                    category_codes: e.category_codes,
                    valid_from_us: valid_from.unwrap_or(now),
                    valid_to_us: valid_to,
                    owner_unit: owner,
                    updated_us: now,
                };
                knowledge::upsert(tx, &stored).await?;
                let answer = UpsertKnowledgeEntryResponse {
                    entry: Some(to_wire(&stored)),
                };
                Ok(answer)
            })
            .await?;
        Ok(answer)
    }
}

#[tonic::async_trait]
impl KnowledgeService for Knowledge {
    async fn upsert_knowledge_entry(
        &self,
        req: Request<UpsertKnowledgeEntryRequest>,
    ) -> Result<Response<UpsertKnowledgeEntryResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(self.upsert(&caller, req.into_inner()).await?))
    }

    async fn search_knowledge(
        &self,
        req: Request<SearchKnowledgeRequest>,
    ) -> Result<Response<SearchKnowledgeResponse>, Status> {
        meta::Caller::hosted(&self.ctx, &req)?;
        let r = req.into_inner();
        if r.text.trim().is_empty() && r.category_code.is_empty() {
            return Err(ServiceError::invalid("text", "give text or category_code").into());
        }
        let page = wire::Page::parse(r.page_size, "")?;
        let hits = ranked(&self.ctx, &r.text, &r.category_code, self.ctx.now()).await?;
        Ok(Response::new(SearchKnowledgeResponse {
            entries: hits
                .iter()
                .take(page.size as usize)
                .map(|(_, e)| to_wire(e))
                .collect(),
        }))
    }

    async fn get_knowledge_stats(
        &self,
        req: Request<GetKnowledgeStatsRequest>,
    ) -> Result<Response<GetKnowledgeStatsResponse>, Status> {
        meta::Caller::hosted(&self.ctx, &req)?;
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let (total, answered, from_kb) = knowledge::consultation_counts(&mut c)
            .await
            .map_err(ServiceError::from)?;
        let entries = knowledge::count(&mut c).await.map_err(ServiceError::from)?;
        Ok(Response::new(GetKnowledgeStatsResponse {
            consultations: total as u64,
            answered_at_intake: answered as u64,
            answered_from_knowledge_base: from_kb as u64,
            share_answered_at_intake: if total == 0 {
                0.0
            } else {
                answered as f64 / total as f64
            },
            entries: entries as u64,
        }))
    }
}
