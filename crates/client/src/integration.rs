//! What integrators call besides the inbox: the inbox stream, the
//! requester's side, the audited unmask, the Art. 28 export and the
//! knowledge base, as typed calls through the gateway.

use hotline_proto::v1::inbox_service_client::InboxServiceClient;
use hotline_proto::v1::knowledge_service_client::KnowledgeServiceClient;
use hotline_proto::v1::privacy_service_client::PrivacyServiceClient;
use hotline_proto::v1::requester_service_client::RequesterServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use tonic::metadata::MetadataValue;
use tonic::{Request, Status, Streaming};

use crate::{MeshClient, request_id};

/// Metadata carrying the requester credential.
pub const REQUESTER_TOKEN: &str = "x-hotline-requester-token";

impl MeshClient {
    /// Follows `unit`'s inbox after `after_cursor`, as the unit itself.
    pub async fn watch(
        &self,
        unit: &str,
        after_cursor: u64,
    ) -> Result<Streaming<WatchAssignmentsResponse>, Status> {
        let mut c = InboxServiceClient::new(self.channel());
        let req = WatchAssignmentsRequest { after_cursor };
        Ok(c.watch_assignments(routed(req, unit, unit))
            .await?
            .into_inner())
    }

    /// A call to the centre as the requester holding `token`.
    fn as_requester<T>(&self, m: T, token: &str) -> Request<T> {
        let mut req = Request::new(m);
        let md = req.metadata_mut();
        // The requester's channel is the centre's own: it acts for the city.
        if let Ok(v) = MetadataValue::try_from(self.city.as_str()) {
            md.insert(hotline_runtime::meta::TARGET, v.clone());
            md.insert(hotline_runtime::meta::UNIT, v);
        }
        if let Ok(v) = MetadataValue::try_from(token) {
            md.insert(REQUESTER_TOKEN, v);
        }
        req
    }

    /// Submits a request and returns the order with the requester's credential.
    pub async fn submit_as_requester(
        &self,
        r: SubmitRequestRequest,
    ) -> Result<(Order, String), Status> {
        let mut c =
            hotline_proto::v1::intake_service_client::IntakeServiceClient::new(self.channel());
        let resp = c
            .submit_request(routed(r, &self.city, &self.city))
            .await?
            .into_inner();
        Ok((resp.order.unwrap_or_default(), resp.requester_token))
    }

    pub async fn own_order(
        &self,
        token: &str,
        order_id: &str,
    ) -> Result<RequesterOrderView, Status> {
        let mut c = RequesterServiceClient::new(self.channel());
        let req = GetOwnOrderRequest {
            name: format!("orders/{order_id}"),
        };
        Ok(c.get_own_order(self.as_requester(req, token))
            .await?
            .into_inner()
            .order
            .unwrap_or_default())
    }

    pub async fn supplement(
        &self,
        token: &str,
        order_id: &str,
        text: &str,
        media_refs: &[&str],
    ) -> Result<RequesterOrderView, Status> {
        let mut c = RequesterServiceClient::new(self.channel());
        let req = SupplementOrderRequest {
            request_id: request_id(),
            name: format!("orders/{order_id}"),
            text: text.into(),
            media_refs: media_refs.iter().map(|m| m.to_string()).collect(),
        };
        Ok(c.supplement_order(self.as_requester(req, token))
            .await?
            .into_inner()
            .order
            .unwrap_or_default())
    }

    pub async fn withdraw(
        &self,
        token: &str,
        order_id: &str,
        reason: &str,
    ) -> Result<RequesterOrderView, Status> {
        let mut c = RequesterServiceClient::new(self.channel());
        let req = WithdrawOrderRequest {
            request_id: request_id(),
            name: format!("orders/{order_id}"),
            reason: reason.into(),
        };
        Ok(c.withdraw_order(self.as_requester(req, token))
            .await?
            .into_inner()
            .order
            .unwrap_or_default())
    }

    pub async fn urge_own(
        &self,
        token: &str,
        order_id: &str,
    ) -> Result<RequesterOrderView, Status> {
        let mut c = RequesterServiceClient::new(self.channel());
        let req = UrgeOwnOrderRequest {
            request_id: request_id(),
            name: format!("orders/{order_id}"),
        };
        Ok(c.urge_own_order(self.as_requester(req, token))
            .await?
            .into_inner()
            .order
            .unwrap_or_default())
    }

    /// Revokes every credential of the order `token` opens.
    pub async fn revoke_token(
        &self,
        token: &str,
        order_id: &str,
        request_id: &str,
    ) -> Result<RevokeRequesterTokenResponse, Status> {
        let mut c = RequesterServiceClient::new(self.channel());
        let req = RevokeRequesterTokenRequest {
            request_id: request_id.into(),
            name: format!("orders/{order_id}"),
        };
        Ok(c.revoke_requester_token(self.as_requester(req, token))
            .await?
            .into_inner())
    }

    /// An operator with the unmask role reveals the requester of an order
    /// `unit` handles, for a named reason (audited with the operator's name).
    pub async fn unmask(
        &self,
        unit: &str,
        order_id: &str,
        epoch: u64,
        reason: UnmaskReason,
        justification: &str,
    ) -> Result<UnmaskRequesterResponse, Status> {
        let mut c = PrivacyServiceClient::new(self.operator_channel());
        let req = UnmaskRequesterRequest {
            request_id: request_id(),
            order_id: order_id.into(),
            epoch,
            reason: reason as i32,
            justification: justification.into(),
        };
        Ok(c.unmask_requester(routed(req, &self.city, unit))
            .await?
            .into_inner())
    }

    /// The audit log of identity reads, as `reader` (the centre only).
    pub async fn audit_log(&self, reader: &str, order_id: &str) -> Result<Vec<AuditEntry>, Status> {
        let mut c = PrivacyServiceClient::new(self.channel());
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let req = ListAuditEntriesRequest {
                page_size: 500,
                page_token,
                order_id: order_id.into(),
            };
            let r = c
                .list_audit_entries(routed(req, &self.city, reader))
                .await?
                .into_inner();
            all.extend(r.entries);
            if r.next_page_token.is_empty() {
                return Ok(all);
            }
            page_token = r.next_page_token;
        }
    }

    /// Every order of `unit`, PII removed (Art. 28), as `reader`.
    pub async fn export(&self, reader: &str, unit: &str) -> Result<Vec<Order>, Status> {
        let mut c = PrivacyServiceClient::new(self.channel());
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let req = ExportUnitOrdersRequest {
                unit: format!("units/{unit}"),
                page_size: 100,
                page_token,
            };
            let r = c
                .export_unit_orders(routed(req, &self.city, reader))
                .await?
                .into_inner();
            all.extend(r.orders);
            if r.next_page_token.is_empty() {
                return Ok(all);
            }
            page_token = r.next_page_token;
        }
    }

    /// Creates or replaces a knowledge base entry, as its owning unit.
    pub async fn upsert_knowledge(
        &self,
        unit: &str,
        entry: KnowledgeEntry,
    ) -> Result<KnowledgeEntry, Status> {
        let mut c = KnowledgeServiceClient::new(self.channel());
        let req = UpsertKnowledgeEntryRequest {
            request_id: request_id(),
            entry: Some(entry),
        };
        Ok(c.upsert_knowledge_entry(routed(req, &self.city, unit))
            .await?
            .into_inner()
            .entry
            .unwrap_or_default())
    }

    pub async fn search_knowledge(
        &self,
        text: &str,
        category_code: &str,
    ) -> Result<Vec<KnowledgeEntry>, Status> {
        let mut c = KnowledgeServiceClient::new(self.channel());
        let req = SearchKnowledgeRequest {
            text: text.into(),
            category_code: category_code.into(),
            page_size: 0,
        };
        Ok(c.search_knowledge(routed(req, &self.city, &self.city))
            .await?
            .into_inner()
            .entries)
    }

    pub async fn knowledge_stats(&self) -> Result<GetKnowledgeStatsResponse, Status> {
        let mut c = KnowledgeServiceClient::new(self.channel());
        let req = GetKnowledgeStatsRequest {};
        Ok(c.get_knowledge_stats(routed(req, &self.city, &self.city))
            .await?
            .into_inner())
    }
}
