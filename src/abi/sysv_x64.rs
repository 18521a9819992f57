use super::{CallPlan, Signature};

pub fn classify(_sig: &Signature) -> Result<CallPlan, String> {
    Err("not implemented".into())
}
