//! The flow pane's state: the last [`FLOW_BUFFER`] exchanges, in the order their requests
//! arrived; which one is selected (none: the pane follows new traffic); whether the guide's
//! own exchanges are hidden.

use std::collections::VecDeque;

use cognito_learning_contract::trace::{Client, TraceEvent};

use super::intern::Interner;

/// Flow events kept at most.
pub const FLOW_BUFFER: usize = 10_000;

/// An event's place: when its request arrived, then when it was published.
pub type Key = (u64, u64);

#[derive(Debug, Default)]
pub struct FlowLog {
    pub events: VecDeque<TraceEvent>,
    /// The selected exchange; `None` follows the newest.
    pub selected: Option<Key>,
    /// Hide the exchanges the guide's checks made.
    pub hide_guide: bool,
    /// Rows placed without a lab sequence so far (see [`FlowLog::add`]).
    unsequenced: u64,
    /// The exchanges' texts, each held once.
    texts: Interner,
}

/// The sequence numbers given to rows that came without one: above any the lab hands out.
const UNSEQUENCED: u64 = 1 << 62;

impl FlowLog {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TraceEvent> {
        self.events.iter()
    }

    /// Whether `e` is shown with the current filter.
    pub fn shows(&self, e: &TraceEvent) -> bool {
        !(self.hide_guide && e.client == Client::Guide)
    }

    /// The shown events, oldest first.
    pub fn visible(&self) -> impl DoubleEndedIterator<Item = &TraceEvent> {
        self.events.iter().filter(|e| self.shows(e))
    }

    /// Adds what arrived, in order, dropping the oldest past the bound. A row with no place
    /// in the lab's sequence (`seq` 0: a request the app logged that never passed the ALB) is
    /// put after every row there is now.
    pub fn add(&mut self, events: Vec<TraceEvent>) {
        for mut e in events {
            if e.seq == 0 {
                self.unsequenced += 1;
                e.start_seq = self.events.back().map_or(0, |b| b.start_seq);
                e.seq = UNSEQUENCED + self.unsequenced;
            }
            if let Some(ex) = e.exchange.as_deref_mut() {
                self.texts.share_exchange(ex);
            }
            self.insert(e);
        }
        let over = self.events.len().saturating_sub(FLOW_BUFFER);
        self.events.drain(..over);
        self.texts.sweep();
        if let Some(k) = self.selected
            && self.index_of(k).is_none()
        {
            // The selected exchange aged out: follow again.
            self.selected = None;
        }
    }

    pub fn clear(&mut self) {
        self.events.clear();
        self.texts.clear();
        self.selected = None;
    }

    /// The selected event.
    pub fn selection(&self) -> Option<&TraceEvent> {
        self.index_of(self.selected?).map(|i| &self.events[i])
    }

    fn index_of(&self, k: Key) -> Option<usize> {
        self.events.binary_search_by_key(&k, TraceEvent::order).ok()
    }

    /// Moves the selection by `by` shown rows (negative: older). Moving past the newest, or
    /// from no selection downwards, follows new traffic again.
    pub fn select(&mut self, by: isize) {
        let shown: Vec<Key> = self.visible().map(TraceEvent::order).collect();
        let Some(last) = shown.len().checked_sub(1) else {
            self.selected = None;
            return;
        };
        let at = match self.selected.and_then(|k| shown.binary_search(&k).ok()) {
            Some(i) => i,
            None if by < 0 => last + 1,
            None => return,
        };
        match at.checked_add_signed(by) {
            Some(i) if i > last => self.selected = None,
            Some(i) => self.selected = Some(shown[i]),
            None => self.selected = Some(shown[0]),
        }
    }

    /// Shows or hides the guide's exchanges; a hidden selection is let go.
    pub fn toggle_guide(&mut self) {
        self.hide_guide = !self.hide_guide;
        if self.selection().is_some_and(|e| !self.shows(e)) {
            self.selected = None;
        }
    }

    /// The rows to draw in a pane `rows` high: the newest when following, else a window that
    /// holds the selection; with the selected row's place, and how many shown exchanges are
    /// newer than the window's last.
    pub fn window(&self, rows: usize) -> (Vec<&TraceEvent>, Option<usize>, usize) {
        if rows == 0 {
            return (Vec::new(), None, 0);
        }
        let Some(sel) = self.selected.and_then(|k| self.index_of(k)) else {
            let mut w: Vec<&TraceEvent> = self.visible().rev().take(rows).collect();
            w.reverse();
            return (w, None, 0);
        };
        // The selection sits at the bottom of the window, or lower when older rows run out.
        let mut before: Vec<&TraceEvent> = self
            .events
            .range(..sel)
            .rev()
            .filter(|e| self.shows(e))
            .take(rows - 1)
            .collect();
        before.reverse();
        let at = before.len();
        let mut w = before;
        w.push(&self.events[sel]);
        let mut after = self.events.range(sel + 1..).filter(|e| self.shows(e));
        w.extend(after.by_ref().take(rows - w.len()));
        (w, Some(at), after.count())
    }

    /// Shown exchanges of the guide's, and all shown.
    pub fn counts(&self) -> (usize, usize) {
        let guide = self
            .events
            .iter()
            .filter(|e| e.client == Client::Guide)
            .count();
        (guide, self.events.len())
    }
}

impl std::ops::Index<usize> for FlowLog {
    type Output = TraceEvent;

    fn index(&self, i: usize) -> &TraceEvent {
        &self.events[i]
    }
}

impl FlowLog {
    /// The lab publishes an exchange when its answer is known, so the ALB's calls (to
    /// Cognito, to the app) come before the browser's request that caused them; each is put
    /// in the order the requests arrived, which the lab stamped. Events come nearly in order,
    /// so the place is found from the end.
    fn insert(&mut self, e: TraceEvent) {
        let mut at = self.events.len();
        while at > 0 && self.events[at - 1].order() > e.order() {
            at -= 1;
        }
        self.events.insert(at, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognito_learning_contract::trace::Actor;

    fn ev(seq: u64, client: Client) -> TraceEvent {
        TraceEvent {
            seq,
            at_ms: seq,
            start_seq: seq,
            start_ms: seq,
            from: Actor::Browser,
            to: Actor::Alb,
            request: format!("GET /{seq}"),
            status: 200,
            note: String::new(),
            back_channel: false,
            client,
            exchange: None,
        }
    }

    fn names(w: &[&TraceEvent]) -> Vec<u64> {
        w.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn following_shows_the_newest_and_a_selection_holds_its_place() {
        let mut f = FlowLog::default();
        f.add((1..=10).map(|s| ev(s, Client::Learner)).collect());
        assert_eq!(names(&f.window(3).0), [8, 9, 10]);
        f.select(-1);
        assert_eq!(f.selection().map(|e| e.seq), Some(10));
        f.select(-4);
        let (w, at, below) = f.window(3);
        assert_eq!((names(&w), at, below), (vec![4, 5, 6], Some(2), 4));
        f.add(vec![ev(11, Client::Learner)]);
        assert_eq!(
            f.window(3).2,
            5,
            "new traffic counts below, the window stays"
        );
        f.select(-100);
        assert_eq!(
            f.window(3),
            (vec![&f.events[0], &f.events[1], &f.events[2]], Some(0), 8)
        );
        f.select(100);
        assert_eq!(f.selected, None, "past the newest follows again");
    }

    #[test]
    fn the_guides_exchanges_hide_and_a_hidden_selection_is_let_go() {
        let mut f = FlowLog::default();
        f.add(vec![
            ev(1, Client::Learner),
            ev(2, Client::Guide),
            ev(3, Client::Learner),
            ev(4, Client::Guide),
        ]);
        f.select(-1);
        assert_eq!(f.selection().map(|e| e.seq), Some(4));
        f.toggle_guide();
        assert_eq!(f.selected, None);
        assert_eq!(names(&f.window(5).0), [1, 3]);
        f.select(-1);
        f.select(-1);
        assert_eq!(f.selection().map(|e| e.seq), Some(1));
        assert_eq!(f.counts(), (2, 4));
    }

    #[test]
    fn a_row_from_the_apps_log_goes_after_what_is_there_and_before_what_comes() {
        let mut f = FlowLog::default();
        f.add(vec![ev(1, Client::Learner), ev(2, Client::Learner)]);
        f.add(vec![ev(0, Client::Learner), ev(0, Client::Learner)]);
        f.add(vec![ev(3, Client::Learner)]);
        let order: Vec<String> = f.iter().map(|e| e.request.clone()).collect();
        assert_eq!(order, ["GET /1", "GET /2", "GET /0", "GET /0", "GET /3"]);
        let keys: std::collections::BTreeSet<Key> = f.iter().map(TraceEvent::order).collect();
        assert_eq!(keys.len(), 5, "every row has its own key");
    }

    #[test]
    fn the_buffer_is_bounded_and_an_aged_out_selection_follows() {
        let mut f = FlowLog::default();
        f.add(vec![ev(1, Client::Learner)]);
        f.select(-1);
        f.add(
            (2..=FLOW_BUFFER as u64 + 1)
                .map(|s| ev(s, Client::Learner))
                .collect(),
        );
        assert_eq!(f.len(), FLOW_BUFFER);
        assert_eq!(f.selected, None);
    }
}
