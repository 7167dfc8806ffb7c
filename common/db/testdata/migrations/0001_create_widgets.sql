-- Widgets; a comment line ending in a semicolon does not split;
CREATE TABLE widgets (
  id BIGINT NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL DEFAULT 'a;b',
  PRIMARY KEY (id)
) ENGINE=InnoDB;

INSERT INTO widgets (name) VALUES ('seed');
