-- Search documents gain each name's whole Han run as one token ("张三" as well as
-- "张 三"), so an exact or prefix name match ranks first however many people share
-- the characters. The terms are rebuilt by a Rust hook (pinyin is computed in Rust);
-- search documents are derived data, not centre records, so nothing is logged.
SELECT 1;
