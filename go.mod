module flperf

go 1.26

require github.com/aclements/go-moremath v0.0.0-20210112150236-f10218a38794
