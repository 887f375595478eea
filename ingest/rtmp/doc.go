// Package rtmp takes RTMP and RTMPS publishers (OBS, ffmpeg) into the hub.
//
// It reads gortmplib's connection directly and turns FLV tags (legacy and
// Enhanced RTMP, H.264 and AAC) into ingest access units, taking the codec
// parameters from the sequence headers so that a stream starts with its
// first frame instead of after gortmplib's 2 s probe.
package rtmp
