//! Requests submitted by location: the township owning the point leads,
//! the location, community and near-boundary neighbours are recorded, and
//! a location outside the city is refused with nothing stored.

use hotline_proto::v1::*;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

fn at(lat: f64, lon: f64, address: &str) -> SubmitRequestRequest {
    let mut r = submit("road.pothole", address, RequestKind::Report);
    r.location = Some(Location {
        latitude: lat,
        longitude: lon,
    });
    r
}

fn leads(o: &Order) -> Vec<&str> {
    o.assignments
        .iter()
        .filter(|a| a.role == AssignmentRole::Lead as i32)
        .map(|a| a.unit_id.as_str())
        .collect()
}

mesh_test! {
    async fn a_location_decides_the_territory_and_records_the_neighbours(store) {
        let t = mesh(store).await;
        let c = &t.client;

        // Well inside East Arcade Community: Market Street leads, no neighbours;
        // the location wins over an address the index does not know.
        let o = c
            .submit(at(39.942, 116.241, "somewhere by the arcade"))
            .await
            .unwrap();
        assert_eq!(leads(&o), ["t-market"]);
        assert_eq!(o.territory_unit, "t-market");
        assert_eq!(o.community_unit, "c-market-east");
        assert!(
            o.near_boundary_units.is_empty(),
            "{:?}",
            o.near_boundary_units
        );
        let l = o.location.unwrap();
        assert_eq!((l.latitude, l.longitude), (39.942, 116.241));

        // Ten metres from the Harbour Street border: Market Street still owns
        // it; the community and township across the border are recorded, in
        // the order and its history, and read back the same.
        let o = c.submit(at(39.9496, 116.243, "")).await.unwrap();
        assert_eq!(leads(&o), ["t-market"]);
        assert_eq!(o.near_boundary_units, ["c-harbour-south", "t-harbour"]);
        let again = c.order(&o.order_id).await.unwrap();
        assert_eq!(again.near_boundary_units, o.near_boundary_units);
        assert_eq!(again.community_unit, "c-market-east");
        let received = &again.history[0];
        assert!(
            received
                .detail
                .contains("community=c-market-east near_boundary=c-harbour-south,t-harbour"),
            "{}",
            received.detail
        );

        // Exactly on a vertex shared by South Quay and East Arcade: the smaller
        // unit id owns it, every time.
        for _ in 0..2 {
            // With new facts: the same requester at the same point would
            // otherwise be a duplicate of the first, and not dispatched.
            let mut r = at(39.94986, 116.239848, "");
            r.new_facts = true;
            let o = c.submit(r).await.unwrap();
            assert_eq!(leads(&o), ["t-harbour"]);
            assert_eq!(o.community_unit, "c-harbour-south");
            assert_eq!(o.near_boundary_units, ["c-market-east", "t-market"]);
        }

        // Near the district border with Hillview: the district is named too.
        let o = c.submit(at(39.9402, 116.2499, "")).await.unwrap();
        assert_eq!(leads(&o), ["t-market"]);
        assert_eq!(
            o.near_boundary_units,
            ["c-lake-shore", "t-lake", "d-hillview"]
        );

        // Outside the city, or not a location at all: refused, nothing stored.
        let before = c.list_orders().await.unwrap().len();
        for (lat, lon, says) in [
            (39.0, 116.0, "outside the city"),
            (39.9496, 116.2, "outside the city"),
            (91.0, 116.243, "not a latitude and longitude"),
        ] {
            let s = c.submit(at(lat, lon, "1 Harbour Road")).await.unwrap_err();
            assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
            let bad = s.get_details_bad_request().expect("BadRequest details");
            assert_eq!(bad.field_violations[0].field, "location");
            assert!(s.message().contains(says), "{}", s.message());
        }
        assert_eq!(c.list_orders().await.unwrap().len(), before);
        t.stop().await;
    }
}
