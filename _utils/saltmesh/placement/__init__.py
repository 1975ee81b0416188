"""Container placement: which docker host runs each container, and the record of it in pillar."""
