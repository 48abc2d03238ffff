'use strict';
// The tf.data namespace: dataset sources (array, zip, generator, func, csv) and the classes.

const { Dataset, array, zip, generator, func } = require('./dataset');
const { CSVDataset, csv } = require('./csv');

const data = { array, zip, generator, func, csv, Dataset, CSVDataset };

module.exports = { data };
