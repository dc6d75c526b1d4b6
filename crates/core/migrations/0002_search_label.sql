-- Search ranks on the names stored with each document instead of loading every
-- candidate record: `label` is the name(s) a hit must contain (a lead: child and contact).
ALTER TABLE search_doc ADD COLUMN label TEXT NOT NULL DEFAULT '';
UPDATE search_doc SET label = (SELECT name FROM members WHERE members.id = search_doc.entity_id) WHERE entity = 'member';
UPDATE search_doc SET label = (SELECT name FROM guardians WHERE guardians.id = search_doc.entity_id) WHERE entity = 'guardian';
UPDATE search_doc SET label = (SELECT name || ' ' || contact_name FROM leads WHERE leads.id = search_doc.entity_id) WHERE entity = 'lead';
