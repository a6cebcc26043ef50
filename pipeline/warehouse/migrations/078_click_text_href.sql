-- What a click was on besides its CSS selector: the element's text and a link's href, so that
-- "Most clicked" tells the "Home", "About" and "Contact" links of one nav bar apart (issue 14).
--
-- The processor fills both for clicks (rows.py), after its PII step scrubbed them. Rows stored
-- before this migration read their text from the `data` JSON they kept (the SDK always sent
-- it); they never had an href. Other event types leave both empty.
ALTER TABLE events ADD COLUMN IF NOT EXISTS click_text String
    DEFAULT if(type = 'click', JSONExtractString(data, 'text'), '');
ALTER TABLE events ADD COLUMN IF NOT EXISTS click_href String
    DEFAULT if(type = 'click', JSONExtractString(data, 'href'), '') CODEC(ZSTD(1));
