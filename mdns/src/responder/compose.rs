//! Composing the responder's messages: probes, announcements, answers and goodbyes.

use domain::base::iana::{Class, Rtype};
use domain::base::message_builder::{MessageBuilder, StaticCompressor};
use domain::base::Question;
use domain::dep::octseq::Array;

use super::{Asked, Responder, Slot};
use crate::interface::Interface;
use crate::records::{Rec, Set, TtlMode, IN};
use crate::SEND_MAX;

impl Responder {
    /// Compose a probe for our names: questions ANY for each instance name and the host
    /// name, our proposed records in the authority section (section 8.1).
    pub(super) fn compose_probe(&self, slot: &Slot, out: &mut [u8]) -> Option<usize> {
        let mut msg = MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new()))
            .ok()?
            .question();
        let class = Class::from_int(IN);
        for s in &self.records.services {
            msg.push(Question::new(&s.instance, Rtype::ANY, class))
                .ok()?;
        }
        msg.push(Question::new(&self.records.host, Rtype::ANY, class))
            .ok()?;
        let mut auth = msg.authority();
        for i in 0..self.records.services.len() {
            let i = i as u8;
            for r in [Rec::Srv(i), Rec::Txt(i)] {
                self.records
                    .push(&mut auth, r, TtlMode::Probe, &slot.iface)
                    .ok()?;
            }
        }
        for r in [Rec::A, Rec::Aaaa] {
            self.records
                .push(&mut auth, r, TtlMode::Probe, &slot.iface)
                .ok()?;
        }
        copy_out(auth.finish().as_slice(), out)
    }

    /// Compose a response holding `answers` (and as much of `additional` as fits).
    pub(super) fn compose(
        &self,
        iface: &Interface,
        answers: Set,
        additional: Set,
        mode: TtlMode,
        legacy: Option<(u16, &[(Asked, Rtype)])>,
        out: &mut [u8],
    ) -> Option<usize> {
        let mut msg =
            MessageBuilder::from_target(StaticCompressor::new(Array::<SEND_MAX>::new())).ok()?;
        let header = msg.header_mut();
        header.set_qr(true);
        header.set_aa(true);
        let mut q = msg.question();
        if let Some((id, asked)) = legacy {
            q.header_mut().set_id(id);
            for &(what, qtype) in asked {
                let name = match what {
                    Asked::Enumeration => &self.records.enumeration,
                    Asked::Type(i) => &self.records.services.get(usize::from(i))?.type_name,
                    Asked::Instance(i) => &self.records.services.get(usize::from(i))?.instance,
                    Asked::Host => &self.records.host,
                };
                q.push(Question::new(name, qtype, Class::from_int(IN)))
                    .ok()?;
            }
        }
        let mut ans = q.answer();
        for r in answers.iter() {
            self.records.push(&mut ans, r, mode, iface).ok()?;
        }
        let mut add = ans.additional();
        for r in additional.iter() {
            if self.records.push(&mut add, r, mode, iface).is_err() {
                break;
            }
        }
        copy_out(add.finish().as_slice(), out)
    }
}

/// Copy a composed message to `out`; `None` if it does not fit.
fn copy_out(msg: &[u8], out: &mut [u8]) -> Option<usize> {
    out.get_mut(..msg.len())?.copy_from_slice(msg);
    Some(msg.len())
}
